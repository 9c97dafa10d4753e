// A fresh Vite + React app: @nudge/react-query's provider, status hook and typed event map.
import { StrictMode, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query'
import { NudgeProvider, useNudgeStatus } from '@nudge/react-query/react'
import type { EventMap } from '@nudge/react-query'

declare module '@nudge/react-query' {
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
  const { data } = useQuery({
    queryKey: ['balance'],
    queryFn: () => json<{ balance: number }>('/api/balance?user=' + user),
  })
  return <p id="balance">{data === undefined ? 'loading' : String(data.balance)}</p>
}

function Status() {
  const status = useNudgeStatus()
  return <p id="status">{status.state}</p>
}

function App() {
  const [token] = useState(() => getToken)
  return (
    <QueryClientProvider client={queryClient}>
      <NudgeProvider url={hub} events={events} getToken={token}>
        <Status />
        <Balance />
      </NudgeProvider>
    </QueryClientProvider>
  )
}

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>)
