// startCdc: nudge-cdc (build/nudge-cdc, or $NUDGE_CDC_BIN) reading the bank's PostgreSQL and
// publishing the events of examples/bank/cdc-rules.toml to the hub, as a child process.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const CDC_BIN = process.env.NUDGE_CDC_BIN ?? fileURLToPath(new URL('../../../build/nudge-cdc', import.meta.url));
export const RULES = fileURLToPath(new URL('../cdc-rules.toml', import.meta.url));
// nudge-cdc logs this once its replication stream runs: every commit from then on is published.
const STREAMING = /nudge-cdc: streaming /;

/**
 * Resolves with `{ close, exited }` once nudge-cdc streams the database's changes; rejects with
 * its own words if it exits before (a rules file that does not fit the tables, no Postgres).
 */
export function startCdc({ postgresUrl, hubUrl, apiKey, rules = RULES, log = (line) => console.log(line) }) {
  if (!existsSync(CDC_BIN)) {
    return Promise.reject(new Error(`no nudge-cdc at ${CDC_BIN}: run \`make build\` (or set NUDGE_CDC_BIN)`));
  }
  const child = spawn(
    CDC_BIN,
    ['--postgres', postgresUrl, '--rules', rules, '--hub', hubUrl, '--api-key', apiKey, '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(signal ?? code)));
  const early = [];
  return new Promise((resolve, reject) => {
    let streaming = false;
    child.on('error', (error) => reject(new Error(`cannot run ${CDC_BIN}: ${error.message}`)));
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (streaming) return log(line);
        early.push(line);
        if (!STREAMING.test(line)) return;
        streaming = true;
        resolve({
          exited,
          async close() {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            await exited;
          },
        });
      });
    }
    exited.then((status) => {
      if (!streaming) reject(new Error(`nudge-cdc exited (${status}): ${early.join('\n') || 'no output'}`));
    });
  });
}
