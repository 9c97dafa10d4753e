// @vitest-environment node
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import type { ReactNode } from 'react'
import { renderToString } from 'react-dom/server'
import { expect, it } from 'vitest'
import { NudgeProvider, useNudgeEvent, useNudgeStatus } from '../src/react.js'
import { fakeIo } from '../../query-core/test/fake-socket.js'

function Status(): ReactNode {
  const status = useNudgeStatus()
  useNudgeEvent('toast', () => {})
  return <p>{`${status.state}/${status.role}/${String(status.lastEventAt)}`}</p>
}

it('renders on the server without touching browser globals or opening a socket', () => {
  expect(typeof window).toBe('undefined')
  expect(typeof document).toBe('undefined')
  const fake = fakeIo()
  const html = renderToString(
    <QueryClientProvider client={new QueryClient()}>
      <NudgeProvider url="http://hub" getToken={() => 'tok'} events={{ balance_updated: ['balance'] }} io={fake.io}>
        <Status />
      </NudgeProvider>
    </QueryClientProvider>,
  )
  expect(html).toBe('<p>idle/solo/null</p>')
  expect(fake.sockets).toHaveLength(0)
})
