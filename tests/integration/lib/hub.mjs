// Test harness: starts the real nudged binary on a free port and talks to it like users do.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { mintToken } from '../../../tools/nudge.mjs';

export { mintToken };
export const SECRET = 'integration-secret-at-least-32-bytes';
export const API_KEY = 'integration-api-key';
export const NUDGED_BIN =
  process.env.NUDGED_BIN ?? fileURLToPath(new URL('../../../build/nudged', import.meta.url));
// Sanitizer builds are several times slower: waits scale with this.
export const SLOW = process.env.NUDGE_SANITIZED ? 4 : 1;

export async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

// `n` free ports, all different (the kernel may hand the same free port out twice in a row).
export async function distinctFreePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

// Starts nudged; resolves once it prints its listening line. `stop()` sends SIGTERM and
// resolves with the exit code and the time it took. With `keys: false` the caller configures
// the JWT key and API key itself (flags, file or environment).
// `wrapper` runs the hub under another command (e.g. ['prlimit', '--nofile=40:40']).
// Suites that check exact event arguments run with `--recovery off` (no offset argument);
// `recovery: true` runs `--recovery on`, a string ('auto', 'on', 'off') that mode, and `null`
// the hub's default (no flag); '--recovery' in args wins.
// `broker` (a redis:// URL) adds `--broker <url>`: hubs on the same Redis share one room space.
function recoveryArgs(recovery) {
  if (recovery === null) return [];
  return ['--recovery', typeof recovery === 'string' ? recovery : recovery ? 'on' : 'off'];
}

export async function startHub({
  port = 0, args = [], env = {}, keys = true, wrapper = [], recovery = false, broker,
} = {}) {
  const keyArgs = keys ? ['--jwt-secret', SECRET, '--api-key', API_KEY] : [];
  const brokerArgs = broker ? ['--broker', broker] : [];
  const hubArgs = ['--host', '127.0.0.1', '--port', String(port), ...keyArgs, '--log-level', 'info',
    ...recoveryArgs(recovery), ...brokerArgs, ...args];
  const child = spawn(
    wrapper.length ? wrapper[0] : NUDGED_BIN,
    wrapper.length ? [...wrapper.slice(1), NUDGED_BIN, ...hubArgs] : hubArgs,
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (match) resolve(match[1]);  // keeps collecting: output() shows the whole log
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => { output += chunk; });
    exited.then(({ code }) => reject(new Error(`nudged exited (${code}) before listening:\n${output}`)));
  });
  return {
    url,
    port: Number(new URL(url).port),
    child,
    exited,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      const started = Date.now();
      child.kill(signal);
      const result = await exited;
      return { ...result, ms: Date.now() - started };
    },
  };
}

export function token(sub, extra = {}) {
  return mintToken({ secret: SECRET, sub, ...extra });
}

// The seed's exact client options (useSocketConnection in the seed document).
export function seedClient(url, authToken) {
  return io(url, {
    auth: { token: authToken },
    transports: ['websocket'],
    reconnection: true,
    reconnectionAttempts: 10,
    reconnectionDelay: 1000,
  });
}

export function connected(socket) {
  return new Promise((resolve, reject) => {
    if (socket.connected) return resolve(socket);
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

export function connectError(socket) {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected but expected a connect_error')));
    socket.once('connect_error', resolve);
  });
}

export async function emit(hub, body, { apiKey = API_KEY, raw = false, headers = {} } = {}) {
  const response = await fetch(`${hub.url}/api/v1/emit`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, ...headers },
    body: raw ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: response.status, json, text };
}

export async function metrics(hub) {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  const values = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const [name, value] = line.split(' ');
    values[name] = Number(value);
  }
  return values;
}

export function nextEvent(socket, event, timeoutMs = 2000 * SLOW) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    socket.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

// Event arguments with the spread window's "t" (when the hub took the event, Unix ms) checked
// to be a time within `toleranceMs` of now and then taken out, so they compare with deepEqual.
export function untimed(args, toleranceMs = 60000) {
  return args.map((arg) => {
    const m = arg !== null && typeof arg === 'object' ? arg.$nudge : undefined;
    if (!m || m.s === undefined) return arg;
    assert.ok(Number.isInteger(m.t) && Math.abs(m.t - Date.now()) < toleranceMs, `"t" is now: ${JSON.stringify(m)}`);
    const rest = { ...m };
    delete rest.t;
    return { $nudge: rest };
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls `check` until it returns truthy or the deadline passes.
export async function eventually(check, { timeoutMs = 5000 * SLOW, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await sleep(intervalMs);
  }
  throw new Error(`condition not met within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}
