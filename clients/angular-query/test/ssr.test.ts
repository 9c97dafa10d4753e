// @vitest-environment node
// A server render with @angular/platform-server (JIT, zoneless): the client is created at
// bootstrap but never starts, and the status renders as idle.
import '@angular/compiler'
import { Component, provideZonelessChangeDetection } from '@angular/core'
import { bootstrapApplication, type BootstrapContext } from '@angular/platform-browser'
import { provideServerRendering, renderApplication } from '@angular/platform-server'
import { provideTanStackQuery, QueryClient } from '@tanstack/angular-query-experimental'
import { expect, it } from 'vitest'
import { fakeIo } from '../../query-core/test/fake-socket.js'
import { injectNudgeEvent, injectNudgeRoom, injectNudgeStatus, provideNudge } from '../src/index.js'

it('renders on the server without browser globals and without opening a socket', async () => {
  expect(typeof window).toBe('undefined')
  // The core opens its socket a task after start(); Angular's render takes longer than that
  // (fake timers would stall it), so a socket opened on the server would be there by the end.
  const fake = fakeIo()

  @Component({ selector: 'app-root', template: '<p>{{ status().state }}/{{ status().role }}</p>' })
  class Page {
    readonly status = injectNudgeStatus()
    constructor() {
      injectNudgeRoom('project_1')
      injectNudgeEvent('toast', () => {})
    }
  }

  const html = await renderApplication(
    (context: BootstrapContext) =>
      bootstrapApplication(
        Page,
        {
          providers: [
            provideZonelessChangeDetection(),
            provideServerRendering(),
            provideTanStackQuery(new QueryClient()),
            provideNudge({ url: 'http://hub', getToken: () => 'tok', events: {}, io: fake.io }),
          ],
        },
        context,
      ),
    { document: '<html><body><app-root></app-root></body></html>', url: '/' },
  )
  expect(html).toContain('<p>idle/solo</p>')
  expect(fake.sockets).toHaveLength(0)
})
