// A minimal app in the seed's shape: React Query fetches /api/balance, @nudge/react-query
// invalidates it when the hub says balance_updated. The page's query string names the user
// and the hub; with project=<id> it also shows that project, listening to project_<id>
// (useNudgeRoom, with a subscription token) until the page is left.
import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query';
import { NudgeProvider, useNudgeRoom, useNudgeStatus } from '@nudge/react-query/react';

const params = new URLSearchParams(window.location.search);
const user = params.get('user');
const hub = params.get('hub');
const project = params.get('project');
// `transports=polling,websocket` tries socket.io-client's own default instead of WebSocket only.
const transports = (params.get('transports') ?? 'websocket').split(',');
// `backoff=<ms>`: socket.io-client's reconnection delay (a long one, as a phone's OS imposes on
// a backgrounded app, shows that returning to the page does not wait it out).
const backoff = params.get('backoff');
// `resyncSpread=<ms>`: the client's own resync after an unrecovered reconnect is spread.
const resyncSpread = params.get('resyncSpread');
const socketOptions = backoff
  ? { transports, reconnectionDelay: Number(backoff), reconnectionDelayMax: Number(backoff) }
  : { transports };
const events = {
  balance_updated: ['balance'],
  transaction_happened: ['transactions', 'balance'],
  project_updated: (data) => [['project', data.id]],
};
const queryClient = new QueryClient({
  defaultOptions: { queries: { staleTime: Infinity, refetchOnWindowFocus: false, retry: false } },
});

const getToken = async () => (await (await fetch(`/api/token?user=${user}`)).json()).token;

function Balance() {
  const balance = useQuery({
    queryKey: ['balance'],
    // `tab`: this tab's spread seed (kept by @nudge/query-core once it spread a refetch), so the
    // server can tell the tabs' requests apart.
    queryFn: async () =>
      (await fetch(`/api/balance?user=${user}&tab=${sessionStorage.getItem('nudge:spread-seed')}`)).json(),
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

const getSubscriptionToken = async (room) =>
  (await (await fetch(`/api/subscription-token?user=${user}&room=${room}`)).json()).token;

// A page showing one entity: it listens to project_<id> only while it is open.
function ProjectPage({ id }) {
  useNudgeRoom(`project_${id}`, getSubscriptionToken);
  const data = useQuery({
    queryKey: ['project', Number(id)],
    queryFn: async () => (await fetch(`/api/project?id=${id}`)).json(),
  });
  return <div id="project">{data.data ? `version ${data.data.version}` : '…'}</div>;
}

function Pages() {
  const [open, setOpen] = useState(project !== null);
  return (
    <>
      <Balance />
      {open ? <ProjectPage id={project} /> : <div id="project">closed</div>}
      <button id="leave" onClick={() => setOpen(false)}>leave the project page</button>
    </>
  );
}

// ?mode=dashboard: 8 queries, each refetched by its own event (e0 … e7).
const dashboard = params.get('mode') === 'dashboard';
const dashboardEvents = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`e${i}`, [['q', i]]]));

function Query({ i }) {
  const q = useQuery({
    queryKey: ['q', i],
    queryFn: async () => (await fetch(`/api/q?user=${user}&i=${i}`)).json(),
  });
  return <div className="q" id={`q${i}`}>{q.data ? q.data.n : '…'}</div>;
}

function Dashboard() {
  const status = useNudgeStatus();
  return (
    <div className="card">
      {Array.from({ length: 8 }, (_, i) => <Query key={i} i={i} />)}
      <span className="badge" id="status">{status.state}</span>
    </div>
  );
}

createRoot(document.getElementById('root')).render(
  <QueryClientProvider client={queryClient}>
    <NudgeProvider url={hub} getToken={getToken} events={dashboard ? dashboardEvents : events}
      socketOptions={socketOptions} resyncSpreadMs={resyncSpread ? Number(resyncSpread) : 0}>
      {dashboard ? <Dashboard /> : <Pages />}
    </NudgeProvider>
  </QueryClientProvider>,
);
