// Solid's server build (node): the provider renders without opening a socket.
import { QueryClient, QueryClientProvider } from '@tanstack/solid-query'
import { createComponent } from 'solid-js'
import { renderToString } from 'solid-js/web'
import { expect, it } from 'vitest'
import { fakeIo } from '../../query-core/test/fake-socket.js'
import { NudgeProvider, useNudgeEvent, useNudgeRoom, useNudgeStatus } from '../src/index.js'

it('renders on the server without browser globals and without opening a socket', () => {
  expect(typeof window).toBe('undefined')
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
  expect(fake.sockets).toHaveLength(0)
})
