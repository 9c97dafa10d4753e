#!/usr/bin/env node
// The live bank demo in one command (`make demo`): builds the front end, starts the hub
// (build/nudged) with a demo secret and API key, starts the bank backend — Node (server/) or
// Django (django/) — and prints where to go. Ctrl-C (or SIGTERM) stops both; if the hub or the
// backend dies, the demo stops too.
//
//   node examples/bank/run.mjs [--backend node|django] [--port 3000] [--hub-port 8080]
//                              [--host 127.0.0.1] [--no-build] [--version] [--check-ports]
// --check-ports only checks that both ports are free (exit 0) or says which is taken (exit 1).
// Environment: BANK_BACKEND, BANK_PORT, HUB_PORT, NUDGED_BIN (default build/nudged), PYTHON.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
// The same development values as `make run` (nudged --dev), so the README tour's commands work
// against the demo's hub too.
const DEMO_SECRET = 'nudge-dev-secret-do-not-use-in-production';
const DEMO_API_KEY = 'nudge-dev-api-key';
const BACKENDS = ['node', 'django'];

const OPTIONS = {
  backend: { type: 'string', default: process.env.BANK_BACKEND || 'node' },
  port: { type: 'string', default: process.env.BANK_PORT ?? '3000' },
  'hub-port': { type: 'string', default: process.env.HUB_PORT ?? '8080' },
  host: { type: 'string', default: '127.0.0.1' },
  'no-build': { type: 'boolean', default: false },
  version: { type: 'boolean', default: false },
  'check-ports': { type: 'boolean', default: false },
};

// Edits (insert, delete, substitute, swap neighbours) from a to b: "did you mean --hub-port?".
function distance(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j += 1) d[0][j] = j;
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

let flags;
try {
  ({ values: flags } = parseArgs({ options: OPTIONS }));
} catch (error) {
  // Node's own words name the option but not what was meant.
  const given = /'(-[^']*)'/.exec(error.message)?.[1] ?? '';
  const word = given.replace(/^-+/, '');
  const near = Object.keys(OPTIONS)
    .map((name) => [name, distance(word, name)])
    .filter(([, d]) => d <= Math.max(1, Math.min(3, Math.floor(word.length / 3))))
    .sort((x, y) => x[1] - y[1])[0];
  console.error(
    error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
      ? `demo: unknown option ${given}${near ? ` (did you mean --${near[0]}?)` : ''}; ` +
          `the options are ${Object.keys(OPTIONS).map((name) => `--${name}`).join(', ')}`
      : `demo: ${error.message}`,
  );
  process.exit(2);
}
if (flags.version) {
  const { version } = JSON.parse(readFileSync(new URL('package.json', import.meta.url), 'utf8'));
  console.log(`nudge bank demo ${version}`);
  process.exit(0);
}

function die(message) {
  console.error(`demo: ${message}`);
  process.exit(1);
}

if (!BACKENDS.includes(flags.backend)) {
  console.error(`demo: --backend must be one of ${BACKENDS.join(', ')}, not "${flags.backend}"`);
  process.exit(2);
}
// Both ports are checked before anything starts: a hub already on the hub port (say, from
// `make run`) would otherwise answer /healthz for ours and the demo would look up.
function portError(port) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error) => resolve(error.code));
    probe.listen(Number(port), flags.host, () => probe.close(() => resolve(null)));
  });
}
if (flags.port === flags['hub-port']) die(`--port and --hub-port are both ${flags.port}: give them different ports`);
for (const [port, what, flag] of [
  [flags['hub-port'], 'the hub', '--hub-port'],
  [flags.port, 'the bank app', '--port'],
]) {
  const error = await portError(port);
  if (error === 'EADDRINUSE') {
    die(
      `port ${port} for ${what} is already in use on ${flags.host} (a \`make run\` or another demo still running?): ` +
        `stop it, or choose another port with ${flag} (make demo ARGS="${flag} ${Number(port) + 1}")`,
    );
  }
  if (error) die(`cannot listen on ${flags.host}:${port} for ${what} (${error}): choose another with ${flag}`);
}

// `make demo` runs this first, before it installs or builds anything.
if (flags['check-ports']) process.exit(0);

const nudged = process.env.NUDGED_BIN ?? here('../../build/nudged');
if (!existsSync(nudged)) die(`no hub at ${nudged}: run \`make build\` first`);
for (const [dist, command] of [
  ['../../clients/node/dist/index.js', 'npm run build -w clients/node'],
  ['../../clients/query-core/dist/index.js', 'npm run build -w clients/query-core'],
  ['../../clients/react-query/dist/react.js', 'npm run build -w clients/react-query'],
]) {
  if (!existsSync(here(dist))) die(`${here(dist)} is missing: run \`${command}\` first`);
}

if (!flags['no-build']) {
  const { build } = await import('vite');
  const started = Date.now();
  await build({ configFile: here('web/vite.config.mjs') });
  console.log(`demo: front end built in ${Date.now() - started} ms`);
}

// The hub, quiet below warnings; up once /healthz answers.
const hubUrl = `http://${flags.host}:${flags['hub-port']}`;
const hub = spawn(
  nudged,
  [
    '--host',
    flags.host,
    '--port',
    flags['hub-port'],
    '--jwt-secret',
    DEMO_SECRET,
    '--api-key',
    DEMO_API_KEY,
    '--log-level',
    'warn',
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
let hubStatus = null;
const hubExited = new Promise((resolve) =>
  hub.on('exit', (code, signal) => resolve((hubStatus = signal ?? code))),
);
for (let waited = 0; ; waited += 50) {
  if (hubStatus !== null) die(`the hub exited (${hubStatus}) before serving; its message is above`);
  const healthy = await fetch(`${hubUrl}/healthz`, { signal: AbortSignal.timeout(500) }).then(
    (r) => r.ok,
    () => false,
  );
  if (healthy) break;
  if (waited > 5000) {
    hub.kill('SIGTERM');
    die(`the hub did not answer on ${hubUrl} within 5 s`);
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
}

const { startBank } =
  flags.backend === 'django'
    ? { startBank: (await import('./server/django.mjs')).startDjangoBank }
    : await import('./server/app.mjs');
let bank;
try {
  bank = await startBank({
    host: flags.host,
    port: Number(flags.port),
    hubUrl,
    apiKey: DEMO_API_KEY,
    jwtSecret: DEMO_SECRET,
    staticDir: here('dist'),
    log: (line) => console.log(line),
  });
} catch (error) {
  hub.kill('SIGTERM');
  await hubExited;
  die(`the ${flags.backend} bank could not start on ${flags.host}:${flags.port}: ${error.message}`);
}

// Only when every part is up: a hub that exited meanwhile means the demo is not running.
if (hubStatus !== null) {
  await bank.close();
  die(`the hub exited (${hubStatus}); its message is above`);
}
console.log(`
  nudge bank is running: ${bank.url}   (${flags.backend} backend)

  log in as   alice / wonderland   or   bob / builder
              (one browser per user: tabs of one browser share the login)

  hub         ${hubUrl}   (metrics: ${hubUrl}/metrics)
  Ctrl-C stops the demo.
`);

let stopping = false;
async function stop(reason, code) {
  if (stopping) return;
  stopping = true;
  console.log(`demo: ${reason}, stopping`);
  hub.kill('SIGTERM');
  await Promise.all([bank.close(), hubExited]);
  process.exit(code);
}
process.on('SIGINT', () => stop('interrupted', 0));
process.on('SIGTERM', () => stop('terminated', 0));
hubExited.then((status) => stop(`the hub exited (${status})`, 1));
bank.exited?.then((status) => stop(`the ${flags.backend} backend exited (${status})`, 1));
