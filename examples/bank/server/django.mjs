// startDjangoBank: the bank's Django backend (examples/bank/django, served by gunicorn) as a
// child process, with the same options and result as startBank (app.mjs), so run.mjs and the
// tests start either backend the same way. Debian's Python (/usr/bin/python3, or $PYTHON) has
// Django, Channels, PyJWT and gunicorn (scripts/setup installs them).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SERVE = fileURLToPath(new URL('../django/serve.py', import.meta.url));
const LISTENING = /^bank: listening on (http:\/\/\S+)$/;

/**
 * Resolves once the backend listens with `{ url, close, exited }`; `exited` resolves with the
 * exit code or signal if the process ends. Rejects with the backend's own words when it cannot
 * start (a taken port, a missing package).
 */
export function startDjangoBank({
  host = '127.0.0.1',
  port = 3000,
  hubUrl,
  publicHubUrl = hubUrl,
  apiKey,
  jwtSecret,
  staticDir,
  simulateMs = 2000,
  databaseUrl,
  emits = true,
  replicaUrl,
  fresh = true,
  freshTimeout,
  freshMode,
  log = (line) => console.log(line),
}) {
  const args = [SERVE, '--host', host, '--port', String(port), '--hub-url', hubUrl];
  args.push('--public-hub-url', publicHubUrl, '--simulate-ms', String(simulateMs));
  if (staticDir) args.push('--static-dir', staticDir);
  // PostgreSQL instead of a fresh SQLite file; and no emits: nudge-cdc makes the events.
  if (databaseUrl) args.push('--database-url', databaseUrl);
  if (!emits) args.push('--no-emits');
  // Reads from a standby of databaseUrl; without the fresh-data middleware when `fresh` is false.
  if (replicaUrl) args.push('--replica-url', replicaUrl);
  if (!fresh) args.push('--no-fresh');
  if (freshTimeout !== undefined) args.push('--fresh-timeout', String(freshTimeout));
  if (freshMode) args.push('--fresh-mode', freshMode);
  const child = spawn(process.env.PYTHON ?? '/usr/bin/python3', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NUDGE_API_KEY: apiKey, BANK_JWT_SECRET: jwtSecret, PYTHONUNBUFFERED: '1' },
  });
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(signal ?? code)));
  const early = [];
  return new Promise((resolve, reject) => {
    let url = null;
    const spawnFailed = (error) => reject(new Error(`cannot run ${child.spawnfile}: ${error.message}`));
    child.on('error', spawnFailed);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        const listening = url === null && LISTENING.exec(line);
        if (listening) {
          url = listening[1];
          resolve({
            url,
            exited,
            async close() {
              if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
              await exited;
            },
          });
        } else if (url === null) {
          early.push(line);
        } else {
          log(line);
        }
      });
    }
    exited.then((status) => {
      if (url === null) reject(new Error(`exited (${status}): ${early.join('\n') || 'no output'}`));
    });
  });
}
