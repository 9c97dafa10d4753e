// A fresh Vite + Solid app: @nudge/solid-query's provider inside TanStack's, status as an accessor.
import { render } from 'solid-js/web'
import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/solid-query'
import { NudgeProvider, useNudgeStatus, type EventMap } from '@nudge/solid-query'

declare module '@nudge/solid-query' {
  interface Register {
    events: { balance_updated: { userId: string } }
  }
}

const params = new URLSearchParams(location.search)
const user = params.get('user') ?? 'nobody'
const hub = params.get('hub') ?? ''
const events = { balance_updated: ['balance'] } satisfies EventMap
const queryClient = new QueryClient()

const json = async <T,>(path: string): Promise<T> => (await fetch(path)).json() as Promise<T>
const getToken = async (): Promise<string> =>
  (await json<{ token: string }>('/api/token?user=' + user)).token

function Balance() {
  const balance = useQuery(() => ({
    queryKey: ['balance'],
    queryFn: () => json<{ balance: number }>('/api/balance?user=' + user),
  }))
  return <p id="balance">{balance.data === undefined ? 'loading' : String(balance.data.balance)}</p>
}

function Status() {
  const status = useNudgeStatus()
  return <p id="status">{status().state}</p>
}

render(
  () => (
    <QueryClientProvider client={queryClient}>
      <NudgeProvider url={hub} events={events} getToken={getToken}>
        <Status />
        <Balance />
      </NudgeProvider>
    </QueryClientProvider>
  ),
  document.getElementById('root')!,
)
