// @nudge/react-query against the real hub: real socket.io-client, real QueryClient, a real
// REST endpoint. (`make integration` builds the package's dist/ first.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { io } from 'socket.io-client';
import { QueryClient, QueryObserver } from '@tanstack/query-core';
import { createNudge } from '@nudge/react-query';
import { startHub, token, emit, eventually, freePort, mintToken, SLOW } from './lib/hub.mjs';

// The REST API the app fetches from; counts requests so "no polling" is checkable.
let rest;
let balance = 100;
let requests = 0;
before(async () => {
  rest = createServer((req, res) => {
    requests += 1;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ balance }));
  });
  rest.listen(0, '127.0.0.1');
  await once(rest, 'listening');
});
after(() => rest.close());

const restUrl = () => `http://127.0.0.1:${rest.address().port}/api/balance`;

function watchBalance(queryClient) {
  const seen = [];
  const observer = new QueryObserver(queryClient, {
    queryKey: ['balance'],
    queryFn: async () => (await fetch(restUrl())).json(),
    staleTime: Infinity, // nothing but an invalidation makes it refetch
  });
  const unsubscribe = observer.subscribe((result) => {
    if (result.data && seen.at(-1) !== result.data.balance) seen.push(result.data.balance);
  });
  return { seen, unsubscribe };
}

function nudgeFor(hubUrl, { getToken, onAuthError, queryClient }) {
  return createNudge({
    url: hubUrl,
    io,
    queryClient,
    getToken,
    onAuthError,
    events: { balance_updated: ['balance'], transaction_happened: ['transactions', 'balance'] },
    socketOptions: { transports: ['websocket'], reconnectionDelay: 200, reconnectionDelayMax: 1000 },
    locks: null,
    channel: null,
    coalesceMs: 20,
  });
}

test('an event emitted through the publish API invalidates and refetches the query', async () => {
  const hub = await startHub();
  const queryClient = new QueryClient();
  const { seen, unsubscribe } = watchBalance(queryClient);
  const nudge = nudgeFor(hub.url, { getToken: () => token('rq1'), queryClient });
  const stop = nudge.start();
  nudge.setEnabled(true);
  try {
    await eventually(() => nudge.getStatus().state === 'connected' && seen.length === 1);
    const before = requests;
    balance = 250;
    assert.equal((await emit(hub, { room: 'user_rq1', event: 'balance_updated' })).status, 202);
    await eventually(() => seen.at(-1) === 250);
    assert.equal(requests, before + 1, 'exactly one refetch for one event');
    assert.deepEqual(seen, [100, 250]);
    // Another user's event changes nothing here.
    balance = 300;
    await emit(hub, { room: 'user_someone_else', event: 'balance_updated' });
    await new Promise((r) => setTimeout(r, 300 * SLOW));
    assert.equal(requests, before + 1);
  } finally {
    stop();
    unsubscribe();
    queryClient.clear();
    balance = 100;
    await hub.stop();
  }
});

test('after a hub restart: a fresh token is used and mapped queries are resynced', async () => {
  const port = await freePort();
  let hub = await startHub({ port });
  const queryClient = new QueryClient();
  const { seen, unsubscribe } = watchBalance(queryClient);
  let tokensIssued = 0;
  const nudge = nudgeFor(hub.url, { getToken: () => { tokensIssued += 1; return token('rq2'); }, queryClient });
  const stop = nudge.start();
  nudge.setEnabled(true);
  try {
    await eventually(() => nudge.getStatus().state === 'connected' && seen.length === 1);
    assert.equal(tokensIssued, 1);
    const before = requests;
    balance = 175; // changed while the hub is down: no event will ever say so
    await hub.stop();
    hub = await startHub({ port });
    await eventually(() => nudge.getStatus().state === 'connected' && tokensIssued >= 2, { timeoutMs: 15000 });
    // The reconnect was not a recovery, so every mapped key was invalidated and refetched.
    await eventually(() => seen.at(-1) === 175);
    assert.ok(requests > before);
  } finally {
    stop();
    unsubscribe();
    queryClient.clear();
    balance = 100;
    await hub.stop();
  }
});

test('a refused token reaches onAuthError with the hub\'s reason', async () => {
  const hub = await startHub();
  const queryClient = new QueryClient();
  const errors = [];
  const nudge = nudgeFor(hub.url, {
    getToken: () => mintToken({ secret: 'not-the-hub-secret', sub: 'rq3' }),
    onAuthError: (error) => errors.push(error),
    queryClient,
  });
  const stop = nudge.start();
  nudge.setEnabled(true);
  try {
    await eventually(() => errors.length >= 1);
    assert.equal(errors[0].message, 'unauthorized');
    assert.equal(errors[0].data.reason, 'bad_signature');
    assert.equal(nudge.getStatus().state, 'unauthorized');
  } finally {
    stop();
    await hub.stop();
  }
});
