// The server render: the hub's position first, then the data, dehydrated into the page with
// the position beside it. The browser hydrates without fetching (staleTime) and its socket
// resumes from the position, so only what changed since the render is refetched.
import { dehydrate, HydrationBoundary, QueryClient } from '@tanstack/react-query'
import { ACCOUNTS, accountKey, fetchAccount } from '../lib/accounts'
import { serverConfig } from '../lib/config'
import { hubPosition } from '../lib/position'
import { Accounts } from './accounts'
import { Providers } from './providers'

// Rendered per request: the data and the position are the request's.
export const dynamic = 'force-dynamic'

export default async function Page() {
  const { hubUrl, apiKey, backendUrl } = serverConfig()
  const position = await hubPosition(hubUrl, apiKey)
  const queryClient = new QueryClient()
  await Promise.all(
    ACCOUNTS.map((id) =>
      queryClient.prefetchQuery({
        queryKey: accountKey(id),
        // The header only lets the example's test tell server reads from browser reads.
        queryFn: () => fetchAccount(backendUrl, id, { headers: { 'x-rendered-by': 'next' } }),
      }),
    ),
  )
  return (
    <Providers hubUrl={hubUrl} backendUrl={backendUrl} position={position}>
      <HydrationBoundary state={dehydrate(queryClient)}>
        <main>
          <h1>Accounts</h1>
          <Accounts backendUrl={backendUrl} />
        </main>
      </HydrationBoundary>
    </Providers>
  )
}
