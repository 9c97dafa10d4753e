// The README's example, as written there (with useAuth, the URL and io stubbed), must compile and
// connect with the token.
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { act, type ReactNode } from 'react'
import { createRoot } from 'react-dom/client'
import { expect, it, vi } from 'vitest'
import { NudgeProvider } from '../src/react.js'
import { fakeIo } from '../../query-core/test/fake-socket.js'

globalThis.IS_REACT_ACT_ENVIRONMENT = true
const fake = fakeIo()
const useAuth = (): { token: string | null } => ({ token: 'user-token' })
const process = { env: { NEXT_PUBLIC_WS_URL: 'http://hub' as string | undefined } }

// ---- from README.md ----
const events = {
  transaction_happened: ['transactions', 'balance'],
  balance_updated: ['balance'],
  loan_status_changed: ['loans', 'loan-summary'],
  profile_updated: ['profile'],
}
const queryClient = new QueryClient()

export function Providers({ children }: { children: ReactNode }): ReactNode {
  const { token } = useAuth()
  return (
    <QueryClientProvider client={queryClient}>
      <NudgeProvider url={process.env.NEXT_PUBLIC_WS_URL!} events={events} getToken={token ? () => token : null} io={fake.io} channel={null}>
        {children}
      </NudgeProvider>
    </QueryClientProvider>
  )
}
// ---- end ----

it('the README example connects with the token and invalidates mapped keys', async () => {
  vi.useFakeTimers()
  const root = createRoot(document.createElement('div'))
  await act(async () => root.render(<Providers>app</Providers>))
  await act(async () => {
    await vi.advanceTimersByTimeAsync(1)
  })
  const socket = fake.sockets[0]
  expect(socket?.url).toBe('http://hub')
  expect(socket?.sentAuth).toEqual([{ token: 'user-token', recovery: true, nudge: 1 }])
  queryClient.setQueryData(['loans', 7], 'x')
  socket?.accept()
  socket?.event('loan_status_changed')
  await act(async () => {
    await vi.advanceTimersByTimeAsync(100)
  })
  expect(queryClient.getQueryState(['loans', 7])?.isInvalidated).toBe(true)
  await act(async () => root.unmount())
  vi.useRealTimers()
})
