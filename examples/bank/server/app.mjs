// startBank: the bank backend on one port — the REST API, and the built front end from
// `staticDir` — publishing its events to the hub through @nudge/emitter.
import { createServer } from 'node:http';
import { once } from 'node:events';
import { createEmitter } from '@nudge/emitter';
import { openBank } from './db.mjs';
import { createApi } from './api.mjs';
import { createSimulator } from './simulate.mjs';
import { createStatic } from './static.mjs';

/**
 * `hubUrl` is where this process publishes; `publicHubUrl` (default the same) where browsers
 * connect. `jwtSecret` must be the hub's --jwt-secret and `apiKey` its --api-key.
 * Resolves once listening with `{ url, close }`.
 */
export async function startBank({
  host = '127.0.0.1',
  port = 3000,
  hubUrl,
  publicHubUrl = hubUrl,
  apiKey,
  jwtSecret,
  staticDir,
  simulateMs = 2000,
  log = (line) => console.log(line),
}) {
  const bank = await openBank();
  // Events go out after the commit and the request does not wait for them (the seed's
  // fire-and-forget line): a failure after the retries is logged, never lost silently.
  const io = createEmitter({
    url: hubUrl,
    apiKey,
    timeoutMs: 2000,
    retries: 2,
    onError: (error) => log(`bank: an event was not delivered: ${error.message}`),
  });
  const simulator = createSimulator({ bank, io, intervalMs: simulateMs, log });
  const api = createApi({ bank, io, simulator, jwtSecret, hubUrl: publicHubUrl });
  const serveStatic = staticDir ? createStatic(staticDir) : async () => false;

  const server = createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://bank');
    try {
      if (await api(req, res, pathname)) return;
      if ((req.method === 'GET' || req.method === 'HEAD') && (await serveStatic(req, res, pathname))) return;
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    } catch (error) {
      log(`bank: ${req.method} ${pathname} failed: ${error.stack ?? error}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'internal error' }));
    }
  });
  server.listen(port, host);
  await once(server, 'listening');
  return {
    url: `http://${host}:${server.address().port}`,
    async close() {
      simulator.stopAll();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      io.close();
      bank.close();
    },
  };
}
