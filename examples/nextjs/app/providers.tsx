'use client'
// The browser's QueryClient and hub connection. `resumeFrom` is the position the server
// rendered at: the first CONNECT resumes from it instead of starting "now".
import { NudgeProvider, type NudgeProviderProps } from '@nudge/react-query/react'
import type { ResumePosition } from '@nudge/react-query'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { type ReactNode, useState } from 'react'
import { type Events, events } from '../lib/accounts'

export function Providers(props: {
  readonly hubUrl: string
  readonly backendUrl: string
  readonly position: ResumePosition | null
  readonly children: ReactNode
}) {
  // staleTime: hydrated data is fresh, so mounting does not refetch it; the hub's events
  // are what makes it stale.
  const [queryClient] = useState(
    () => new QueryClient({ defaultOptions: { queries: { staleTime: 5 * 60_000 } } }),
  )
  const getToken: NudgeProviderProps<Events>['getToken'] = async () => {
    const response = await fetch(`${props.backendUrl}/token`)
    if (!response.ok) return null
    return ((await response.json()) as { token: string }).token
  }
  return (
    <QueryClientProvider client={queryClient}>
      <NudgeProvider<Events> url={props.hubUrl} getToken={getToken} events={events} resumeFrom={props.position}>
        {props.children}
      </NudgeProvider>
    </QueryClientProvider>
  )
}
