// The seed's Phase 2, with @nudge/react-query: QueryClientProvider, then NudgeProvider with the
// event map and the logged-in user's token (null while logged out: nothing connects).
import { useMemo } from 'react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { NudgeProvider } from '@nudge/react-query/react';
import { EVENT_QUERY_MAP } from './events.js';
import { useSession } from './session.js';
import { Login } from './components/Login.jsx';
import { Dashboard } from './components/Dashboard.jsx';

export function App({ hubUrl }) {
  const session = useSession();
  const userId = session?.user.id;
  // One cache per user: logging in as someone else never shows the previous user's data.
  const queryClient = useMemo(
    () =>
      new QueryClient({
        // Fresh until an event says otherwise; the 5 minutes are a safety net, not polling.
        defaultOptions: { queries: { staleTime: 5 * 60_000, retry: 1 } },
      }),
    [userId],
  );
  // Where the TanStack Query devtools browser extension looks for the cache (the fresh-data
  // tests read the balance query's state there too).
  if (typeof window !== 'undefined') window.__TANSTACK_QUERY_CLIENT__ = queryClient;
  return (
    <QueryClientProvider client={queryClient}>
      <NudgeProvider
        url={hubUrl}
        events={EVENT_QUERY_MAP}
        getToken={session ? () => session.token : null}
        socketOptions={{ transports: ['websocket'] }}
      >
        {session ? <Dashboard user={session.user} /> : <Login />}
      </NudgeProvider>
    </QueryClientProvider>
  );
}
