// Test harness: a throwaway Postgres 15 cluster (Debian's postgresql-15) per test file, with
// wal_level=logical, on a free port, and the processes of nudge-cdc.
//
// Postgres refuses to run as root, so the server binaries run as the `postgres` user when the
// tests run as root. The superuser connects over the cluster's own Unix socket without a
// password; TCP logins need a password (scram-sha-256), so the tests can try wrong ones.
// Every cluster started here is stopped (immediate mode) when the test process exits.
import { spawn, execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../integration/lib/hub.mjs';

const run = promisify(execFile);
export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
export const CDC_BIN =
  process.env.NUDGE_CDC_BIN ?? fileURLToPath(new URL('../../../build/nudge-cdc', import.meta.url));
const asRoot = process.getuid?.() === 0;

const live = new Set();
function stopLive() {
  for (const dir of live) {
    try {
      execFileSync(...pgCommand('pg_ctl', ['-D', dir, '-m', 'immediate', 'stop']), { stdio: 'ignore' });
    } catch { /* already stopped */ }
    rmSync(dir, { recursive: true, force: true });
  }
  live.clear();
}
process.on('exit', stopLive);
// A runner that interrupts the tests: stop the clusters, then die of the same signal.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    stopLive();
    process.kill(process.pid, signal);
  });
}

// [file, args] running a Postgres binary as the postgres user when we are root.
function pgCommand(binary, args) {
  const path = join(PG_BIN, binary);
  return asRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
}

async function pg(binary, args, options = {}) {
  const [file, argv] = pgCommand(binary, args);
  return run(file, argv, { maxBuffer: 64 << 20, ...options });
}

// Starts a cluster; resolves with its handle. `settings` are extra -c name=value pairs.
export async function startPostgres({ settings = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-pg-'));
  chmodSync(dir, 0o700);
  if (asRoot) execFileSync('chown', ['postgres:postgres', dir]);
  await pg('initdb', ['-D', dir, '-U', 'postgres', '--auth-local=trust',
    '--auth-host=scram-sha-256', '--no-sync']);
  const port = await freePort();
  const options = ['-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1',
    '-c', 'wal_level=logical', '-c', 'max_replication_slots=8', '-c', 'max_wal_senders=8',
    '-c', 'fsync=off', ...settings.flatMap((s) => ['-c', s])].join(' ');
  const start = () => pg('pg_ctl', ['-D', dir, '-l', join(dir, 'log'), '-w', '-o', options, 'start']);
  await start();
  live.add(dir);
  const cluster = {
    dir,
    port,
    // A libpq URL over TCP for `user` with `password`.
    url(user, password, db = 'postgres') {
      return `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;
    },
    // Runs SQL as the superuser over the socket, each statement in its own transaction
    // unless the text says BEGIN; resolves with psql's unaligned output.
    async sql(text, { db = 'postgres' } = {}) {
      return (await this.psqlScript(text, { db, flags: ['-At'] })).trim();
    },
    // psql reading a script from stdin (thousands of transactions in one process).
    psqlScript(script, { user = 'postgres', db = 'postgres', flags = [] } = {}) {
      const [file, argv] = pgCommand('psql', ['-h', dir, '-p', String(port), '-U', user, '-d', db,
        '-v', 'ON_ERROR_STOP=1', '-X', '-q', ...flags, '-f', '-']);
      const child = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      let errors = '';
      child.stdout.on('data', (c) => { output += c; });
      child.stderr.on('data', (c) => { errors += c; });
      child.stdin.end(script);
      return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0
        ? resolve(output) : reject(new Error(`psql exited ${code}: ${errors}`)))));
    },
    async stop(mode = 'fast') {
      await pg('pg_ctl', ['-D', dir, '-m', mode, '-w', 'stop']);
    },
    async restart(mode = 'immediate') {
      await this.stop(mode);
      await start();
    },
    async destroy() {
      try { await this.stop('immediate'); } catch { /* not running */ }
      live.delete(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

// Starts nudge-cdc with `args`; `ready` resolves once it streams (its "streaming" log line),
// `exited` with its exit code and output.
export function startCdc(args, { env = {} } = {}) {
  const child = spawn(CDC_BIN, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const waiters = [];
  const onData = (chunk) => {
    output += chunk;
    for (const w of [...waiters]) {
      const match = w.pattern.exec(output);
      if (match) { waiters.splice(waiters.indexOf(w), 1); w.resolve(match); }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, output })));
  const waitFor = (pattern) => new Promise((resolve, reject) => {
    const match = pattern.exec(output);
    if (match) { resolve(match); return; }
    waiters.push({ pattern, resolve });
    exited.then(({ code, signal }) => reject(new Error(`nudge-cdc exited (${code ?? signal}) before ${pattern}:\n${output}`)));
  });
  // Callers that never await `ready` (a process expected to fail) must not see its rejection.
  const ready = waitFor(/streaming slot=/);
  ready.catch(() => {});
  return {
    child,
    exited,
    output: () => output,
    waitFor,
    ready,
    kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

// Runs nudge-cdc to completion (for start-up errors and --check-config).
export async function runCdc(args) {
  try {
    const { stdout, stderr } = await run(CDC_BIN, args, { timeout: 60000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    return { code: error.code, output: (error.stdout ?? '') + (error.stderr ?? '') };
  }
}
