// A minimal app in the seed's shape: React Query fetches /api/balance, @nudge/react-query
// invalidates it when the hub says balance_updated. The page's query string names the user
// and the hub.
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query';
import { NudgeProvider, useNudgeStatus } from '@nudge/react-query/react';

const params = new URLSearchParams(window.location.search);
const user = params.get('user');
const hub = params.get('hub');
// `transports=polling,websocket` tries socket.io-client's own default instead of WebSocket only.
const transports = (params.get('transports') ?? 'websocket').split(',');
const events = { balance_updated: ['balance'], transaction_happened: ['transactions', 'balance'] };
const queryClient = new QueryClient({
  defaultOptions: { queries: { staleTime: Infinity, refetchOnWindowFocus: false, retry: false } },
});

const getToken = async () => (await (await fetch(`/api/token?user=${user}`)).json()).token;

function Balance() {
  const balance = useQuery({
    queryKey: ['balance'],
    queryFn: async () => (await fetch(`/api/balance?user=${user}`)).json(),
  });
  const status = useNudgeStatus();
  return (
    <div className="card">
      <div>Balance of {user}</div>
      <div id="balance">{balance.data ? balance.data.balance : '…'}</div>
      <span className="badge" id="status">{status.state}</span> <span id="role">{status.role}</span>
    </div>
  );
}

createRoot(document.getElementById('root')).render(
  <QueryClientProvider client={queryClient}>
    <NudgeProvider url={hub} getToken={getToken} events={events} socketOptions={{ transports }}>
      <Balance />
    </NudgeProvider>
  </QueryClientProvider>,
);
