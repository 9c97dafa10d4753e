// Solid's server build (node): the provider renders without opening a socket.
import { QueryClient, QueryClientProvider } from '@tanstack/solid-query'
import { createComponent } from 'solid-js'
import { renderToString } from 'solid-js/web'
import { afterEach, expect, it, vi } from 'vitest'
import { fakeIo } from '../../query-core/test/fake-socket.js'
import { NudgeProvider, useNudgeEvent, useNudgeRoom, useNudgeStatus } from '../src/index.js'

afterEach(() => {
  vi.useRealTimers()
})

it('renders on the server without browser globals and without opening a socket', async () => {
  expect(typeof window).toBe('undefined')
  // The core opens its socket a task after start(): let every pending timer run before looking.
  vi.useFakeTimers()
  const fake = fakeIo()
  let seen = ''
  const Page = () => {
    const status = useNudgeStatus()
    useNudgeRoom('project_1')
    useNudgeEvent('toast', () => {})
    seen = `${status().state}/${status().role}`
    return seen
  }
  const html = renderToString(() =>
    createComponent(QueryClientProvider, {
      client: new QueryClient(),
      get children() {
        return createComponent(NudgeProvider, {
          url: 'http://hub',
          getToken: () => 'tok',
          events: {},
          io: fake.io,
          get children() {
            return createComponent(Page, {})
          },
        })
      },
    }),
  )
  expect(seen).toBe('idle/solo')
  expect(html).toContain('idle/solo')
  await vi.advanceTimersByTimeAsync(1000)
  expect(fake.sockets).toHaveLength(0)
})
