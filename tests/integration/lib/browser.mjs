// What the Chromium tests share: Debian's Chromium through playwright-core, and a small HTTP
// server that serves a built app's files next to the test's own API routes.
import { createServer } from 'node:http';
import { once } from 'node:events';
import { readFileSync, existsSync } from 'node:fs';
import { join, extname, normalize } from 'node:path';
import { chromium } from 'playwright-core';

const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

export function launchChromium() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

// Serves the files under `root` (index.html for '/'); `api(url, req, res)` answers first and
// returns true when it handled the request. Resolves to { server, base }.
export async function serveApp(root, api = () => false) {
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (api(url, req, res)) return undefined;
    const file = normalize(join(root, url.pathname === '/' ? 'index.html' : url.pathname));
    if (!file.startsWith(root) || !existsSync(file)) {
      res.statusCode = 404;
      return res.end();
    }
    res.setHeader('content-type', types[extname(file)] ?? 'application/octet-stream');
    return res.end(readFileSync(file));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}

// Answers a JSON body; returns true so an `api` callback can `return json(res, …)`.
export function json(res, body) {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
  return true;
}
