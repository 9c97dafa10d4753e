// startPostgres: a throwaway PostgreSQL 15 cluster for the demo and its tests, through
// scripts/postgres (initdb in a fresh temporary directory, a free port unless one is given,
// wal_level=logical for nudge-cdc). Debian's postgresql-15 (scripts/setup installs it).
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../../scripts/postgres', import.meta.url));

/**
 * Resolves with `{ url, stop }` once the server accepts connections: `url` is
 * postgresql://postgres@127.0.0.1:PORT/postgres; `stop()` shuts it down and removes its files.
 * Rejects with scripts/postgres' own message when it cannot start.
 */
export async function startPostgres({ port = 0 } = {}) {
  const parent = mkdtempSync(join(tmpdir(), 'nudge-bank-pg-'));
  chmodSync(parent, 0o755); // the server runs as the postgres user when we are root
  const dir = join(parent, 'data');
  let url;
  try {
    ({ stdout: url } = await run(SCRIPT, ['start', dir, String(port)], { timeout: 120_000 }));
  } catch (error) {
    rmSync(parent, { recursive: true, force: true });
    throw new Error((error.stderr || error.message).trim());
  }
  let stopped;
  return {
    url: url.trim(),
    stop() {
      stopped ??= run(SCRIPT, ['stop', dir], { timeout: 60_000 })
        .catch(() => undefined)
        .finally(() => rmSync(parent, { recursive: true, force: true }));
      return stopped;
    },
  };
}

/** Runs `sql` with Debian's psql against `url` (one transaction); resolves with its output. */
export async function psql(url, sql) {
  const { stdout } = await run('psql', [url, '-v', 'ON_ERROR_STOP=1', '-1', '-qAt', '-c', sql]);
  return stdout;
}
