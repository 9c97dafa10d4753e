#!/usr/bin/env node
// The peer: Socket.IO 4.x on Node doing nudged's job behind the same interface, so every
// benchmark scenario runs unchanged against both. Same flags (--host --port --jwt-secret
// --api-key), same JWT rules (HS256, exp/nbf with 30 s leeway, sub → user_<sub>, rooms claim),
// same POST /api/v1/emit (room/rooms/except/data, batch {"events":[…]}, 202 {"accepted":N}),
// GET /metrics with nudge_connections, same ping settings. Both transports, as nudged: WebSocket
// (what nudge-loadgen speaks) and HTTP long-polling with the upgrade (the polling scenario).
// With --redis redis://host:port, several of these processes share one room space through
// @socket.io/redis-adapter (the classic adapter: every broadcast is one PUBLISH that every
// process receives), so POST /api/v1/emit on one reaches the clients of all (the scaleout
// scenario); it listens only once both of its Redis connections are up.
import { createServer } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '8080' },
    'jwt-secret': { type: 'string' }, 'api-key': { type: 'string' }, redis: { type: 'string' },
    'log-level': { type: 'string', multiple: true }, // accepted for interface parity
  },
});
const secret = values['jwt-secret'];
const apiKey = values['api-key'];
if (!secret || !apiKey) {
  console.error('peer: --jwt-secret and --api-key are required');
  process.exit(2);
}

function verify(token) {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3) throw new Error('malformed_token');
  const header = JSON.parse(Buffer.from(parts[0], 'base64url'));
  if (header.alg !== 'HS256') throw new Error('algorithm_not_allowed');
  const expected = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Error('bad_signature');
  const claims = JSON.parse(Buffer.from(parts[1], 'base64url'));
  const now = Date.now() / 1000;
  if (claims.exp !== undefined && now > claims.exp + 30) throw new Error('token_expired');
  if (claims.nbf !== undefined && now < claims.nbf - 30) throw new Error('token_not_yet_valid');
  if (claims.sub === undefined || claims.sub === '') throw new Error('missing_user_claim');
  return claims;
}

// Content-Length on every answer: keep-alive clients (the load generator) read by length.
const send = (res, status, body, type = 'application/json') => {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
};
const error = (res, status, code, message) => send(res, status, JSON.stringify({ error: { code, message } }));

const http = createServer((req, res) => {
  if (req.url === '/metrics') {
    return send(res, 200, `nudge_connections ${io.engine.clientsCount}\n`, 'text/plain; version=0.0.4');
  }
  if (req.url === '/healthz') return send(res, 200, '{"status":"ok"}');
  if (req.url !== '/api/v1/emit') return error(res, 404, 'not_found', 'no route');
  if (req.method !== 'POST') return error(res, 405, 'method_not_allowed', 'POST only');
  const auth = req.headers.authorization ?? '';
  if (auth !== `Bearer ${apiKey}`) return error(res, 401, 'unauthorized', 'missing or wrong API key');
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body;
    try { body = JSON.parse(Buffer.concat(chunks)); } catch { return error(res, 400, 'invalid_json', 'body: not valid JSON'); }
    const events = body.events ?? [body];
    for (const e of events) {
      if (typeof e.event !== 'string' || !e.event) return error(res, 400, 'missing_field', 'event: required');
      if (!e.room && !Array.isArray(e.rooms)) return error(res, 400, 'missing_field', 'room: required');
    }
    for (const e of events) {
      let target = io.to(e.room ?? e.rooms);
      if (e.except) target = target.except(e.except);
      if (e.data === undefined) target.emit(e.event);
      else target.emit(e.event, e.data);
    }
    send(res, 202, JSON.stringify({ accepted: events.length }));
  });
});

const io = new Server(http, { transports: ['polling', 'websocket'], pingInterval: 25000, pingTimeout: 20000, serveClient: false });
if (values.redis) {
  const pub = createClient({ url: values.redis });
  const sub = pub.duplicate();
  for (const client of [pub, sub]) {
    client.on('error', (e) => console.error(`peer: redis: ${e.message}`));
  }
  try {
    await Promise.all([pub.connect(), sub.connect()]);
  } catch (e) {
    console.error(`peer: cannot connect to ${values.redis}: ${e.message}`);
    process.exit(1);
  }
  io.adapter(createAdapter(pub, sub));
}
io.use((socket, next) => {
  try {
    socket.data.claims = verify(socket.handshake.auth?.token);
    next();
  } catch (e) {
    const err = new Error('unauthorized');
    err.data = { reason: e.message };
    next(err);
  }
});
io.on('connection', (socket) => {
  const { sub, rooms } = socket.data.claims;
  socket.join([`user_${sub}`, ...(Array.isArray(rooms) ? rooms : [])]);
});

http.listen(Number(values.port), values.host, () => {
  console.log(`listening on http://${values.host}:${http.address().port} (socket.io peer)`);
});
process.on('SIGTERM', () => { io.close(); process.exit(0); });
process.on('SIGINT', () => { io.close(); process.exit(0); });
