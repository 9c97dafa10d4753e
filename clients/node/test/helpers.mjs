// Test helpers: the real hub from tests/integration, listeners that record what a user's
// socket receives, and a scripted HTTP server standing in for a hub that misbehaves.
import { createServer } from 'node:http';
import { once } from 'node:events';
import { createEmitter } from '../dist/index.js';
import { API_KEY, connected, seedClient, token } from '../../../tests/integration/lib/hub.mjs';

export * from '../../../tests/integration/lib/hub.mjs';

// A connected socket.io-client of user `sub` that records every event it receives.
export async function listener(hub, sub) {
  const socket = seedClient(hub.url, token(sub));
  const received = [];
  socket.onAny((event, ...args) => received.push({ event, args }));
  await connected(socket);
  return { socket, received, close: () => socket.close() };
}

export function emitterFor(hub, options = {}) {
  return createEmitter({ url: hub.url, apiKey: API_KEY, backoff: { minMs: 10, maxMs: 50 }, ...options });
}

// An HTTP server answering each POST with the next function of `script` (the last one repeats).
// Records every request's body and headers and counts TCP connections.
export async function scriptedServer(script) {
  const requests = [];
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      requests.push({ body, headers: req.headers, at: Date.now() });
      const answer = script[Math.min(requests.length, script.length) - 1];
      answer(res, body, req);
    });
  });
  server.on('connection', () => { connections += 1; });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    server,
    requests,
    get connections() { return connections; },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

export const reply = (status, body, headers = {}) => (res) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

export const accepted = (res, body) => {
  const parsed = JSON.parse(body);
  reply(202, { accepted: parsed.events ? parsed.events.length : 1 })(res);
};
