// The example's REST API, standing in for your backend: three accounts in memory, a deposit
// route that changes one and then tells the user's browsers through the hub, and the token
// the browser's socket presents. The Next.js app reads it at render time (server) and after
// hydration (browser, refetching what an event invalidated).
//
//   GET  /accounts/:id          {id, balance}                  ['account', id]
//   POST /accounts/:id/deposit  {amount} → {id, balance}, then account_changed {id} to user_<user>
//   GET  /token                 {token}: an HS256 JWT for the demo user, signed with the hub's secret
//
//   node backend.mjs            on PORT (default 4000); NUDGE_URL, NUDGE_API_KEY, NUDGE_JWT_SECRET
//                               default to `nudged --dev`'s
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const ACCOUNTS = ['checking', 'savings', 'card'];

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

export function signToken(sub, secret, ttlSeconds = 600) {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, iat: now, exp: now + ttlSeconds })}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/**
 * The backend as an http.Server (not yet listening). `onRequest(req, url)` sees every request
 * first (the example's test counts them there).
 */
export function createBackend({
  hubUrl = 'http://127.0.0.1:8080',
  apiKey = 'nudge-dev-api-key',
  jwtSecret = 'nudge-dev-secret-do-not-use-in-production',
  user = 'demo',
  onRequest = () => {},
} = {}) {
  const balances = new Map(ACCOUNTS.map((id) => [id, 100]));
  const send = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const emit = async (event, data) => {
    const response = await fetch(`${hubUrl}/api/v1/emit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ room: `user_${user}`, event, data }),
    });
    if (response.status !== 202) {
      throw new Error(`example backend: the hub refused ${event} (${response.status}): ${await response.text()}`);
    }
  };
  return createServer(async (req, res) => {
    const url = new URL(req.url, 'http://backend');
    onRequest(req, url);
    // The browser calls from the Next.js app's origin.
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-allow-headers', 'content-type');
    if (req.method === 'OPTIONS') return res.end();
    if (url.pathname === '/token') return send(res, 200, { token: signToken(user, jwtSecret) });
    const [, collection, id, action] = url.pathname.split('/');
    if (collection !== 'accounts' || !balances.has(id)) {
      return send(res, 404, { error: { code: 'not_found', message: `no route for ${url.pathname}` } });
    }
    if (req.method === 'GET' && action === undefined) return send(res, 200, { id, balance: balances.get(id) });
    if (req.method === 'POST' && action === 'deposit') {
      let amount;
      try {
        const chunks = [];
        for await (const chunk of req) chunks.push(chunk);
        ({ amount } = JSON.parse(Buffer.concat(chunks).toString() || '{}'));
      } catch {
        amount = undefined;
      }
      if (!Number.isInteger(amount) || amount <= 0) {
        return send(res, 400, { error: { code: 'bad_amount', message: 'amount must be a positive integer' } });
      }
      balances.set(id, balances.get(id) + amount);
      // Written first, then announced: a browser refetching on the event reads the new value.
      try {
        await emit('account_changed', { id });
      } catch (error) {
        return send(res, 502, { error: { code: 'hub_refused', message: error.message } });
      }
      return send(res, 200, { id, balance: balances.get(id) });
    }
    return send(res, 405, { error: { code: 'method_not_allowed', message: `${req.method} ${url.pathname}` } });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 4000);
  createBackend({
    hubUrl: process.env.NUDGE_URL,
    apiKey: process.env.NUDGE_API_KEY,
    jwtSecret: process.env.NUDGE_JWT_SECRET,
  }).listen(port, '127.0.0.1', () => console.log(`example backend on http://127.0.0.1:${port}`));
}
