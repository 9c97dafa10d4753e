#!/usr/bin/env node
// bench/herd/origin.mjs: the API the herd scenario's clients refetch from, counting what reaches it.
//
//   node bench/herd/origin.mjs [--delay-ms 20]
//
// Prints "listening on http://127.0.0.1:<port>" once it listens (port 0: the kernel's choice).
//   GET  /api/rates[?nudge_v=...]  {"gen":g} after --delay-ms (the work of a real API), counted;
//   POST /control/bump             a write: gen += 1; answers {"gen":g};
//   POST /control/reset            forgets the counts;
//   GET  /control/stats            {"total":n,"bins":[[t_ms,count],...]}: requests per 50 ms bin
//                                  (t_ms: the bin's start, Date.now() clock), since the reset.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { 'delay-ms': { type: 'string', default: '20' } } });
const delayMs = Number(values['delay-ms']);
if (!(delayMs >= 0)) {
  console.error('origin.mjs: --delay-ms must be a number >= 0');
  process.exit(2);
}
const BIN_MS = 50;
let gen = 1;
let total = 0;
let bins = new Map();

const json = (res, body) => {
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body));
};

const server = createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (req.method === 'GET' && path === '/api/rates') {
    total += 1;
    const bin = Math.floor(Date.now() / BIN_MS) * BIN_MS;
    bins.set(bin, (bins.get(bin) ?? 0) + 1);
    // The answer is read when the request arrives, as a database read would be.
    const body = { gen };
    setTimeout(() => json(res, body), delayMs);
  } else if (req.method === 'POST' && path === '/control/bump') {
    gen += 1;
    json(res, { gen });
  } else if (req.method === 'POST' && path === '/control/reset') {
    total = 0;
    bins = new Map();
    json(res, { ok: true });
  } else if (req.method === 'GET' && path === '/control/stats') {
    json(res, { total, bins: [...bins].sort((a, b) => a[0] - b[0]) });
  } else {
    res.statusCode = 404;
    json(res, { error: { code: 'not_found', message: `origin.mjs: no ${req.method} ${path}` } });
  }
});
server.keepAliveTimeout = 60000;
server.maxConnections = 30000;
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
