// bench/run.mjs against stand-ins that do not keep all their clients: the peer's shortfalls are
// findings in the report and the run goes on; nudged's fail the run with the reason. Either
// way the run ends, and no process it started outlives it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ROOT, STANDIN, within } from './lib.mjs';

// A private path to the stand-in (a symlink: its imports still resolve from the tree), so the
// processes started from it can be told apart from anything else running on the machine.
function privateStandin(dir) {
  const path = `${dir}/standin-peer.mjs`;
  symlinkSync(STANDIN, path);
  return path;
}

function processesRunning(path) {
  return readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(path);
    } catch {
      return false; // exited while we looked
    }
  });
}

async function benchRun(args, env = {}) {
  const child = spawn(`${ROOT}/bench/run.mjs`, ['--smoke', ...args], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => { stdout += c; });
  child.stderr.on('data', (c) => { stderr += c; });
  const code = await within(280000, 'bench/run.mjs', new Promise((resolve) => child.on('exit', resolve)))
    .finally(() => child.kill('SIGKILL'));
  return { code, stdout, stderr };
}

test('a peer that drops half its clients: the run finishes, reports the shortfall and exits 0', async (t) => {
  const dir = mkdtempSync(`${tmpdir()}/bench-run-`);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const peer = privateStandin(dir);
  const { code, stdout, stderr } = await benchRun(
    ['--peer', peer, '--peer-shortfalls', 'report', '--report', `${dir}/RESULTS.md`], { STANDIN_MODE: 'drop' });
  assert.equal(code, 0, `bench/run.mjs failed:\n${stderr}`);
  assert.match(stdout, new RegExp(`report: ${dir}/RESULTS.md`));
  assert.match(stdout, /in \d+ min \d+ s/);

  const report = readFileSync(`${dir}/RESULTS.md`, 'utf8');
  assert.match(report, /## Findings: what standin-peer\.mjs could not do/);
  // Every second client is closed right after it connects; the last closes may land after the
  // memory is read, so held + closed is what is exact.
  const [, held, closed] = /- standin-peer\.mjs held (\d+) of 50 clients.*; (\d+) closed by the server after connecting \(idle memory, 50 clients\)/.exec(report) ?? [];
  assert.equal(Number(held) + Number(closed), 50, report);
  assert.equal(Number(held) >= 25 && Number(held) < 50, true);
  assert.match(report, /- standin-peer\.mjs latency, 50 clients, 100 events\/s: \d+\/100 delivered/);
  assert.match(report, /- standin-peer\.mjs latency, 50 clients, 400 events\/s: \d+\/400 delivered/);
  // Both rates' rows, nudged's filled (the stand-in's p99 is whatever it held).
  assert.match(report, /\| nudged \| 100 \| 1 \| [\d,]+ \| \d+ µs \| \d+ µs \|/);
  assert.match(report, /\| nudged \| 400 \| 4 \| [\d,]+ \| \d+ µs \| \d+ µs \|/);
  // The idle-memory row names how many clients each server held next to its memory figure.
  const [, mostHeld] = /\| 50 \| \d+ B \| 50 \| \d+ B \| (\d+) \| /.exec(report) ?? [];
  assert.equal(Number(mostHeld) >= Number(held) && Number(mostHeld) <= 50, true, report);
  // The stand-in speaks WebSocket only: the socket.io-client polling clients it refuses are a
  // finding, and nudged's column of that table is filled.
  assert.match(report, /- standin-peer\.mjs held 0 of 20 clients; 20 failed or closed by the server during the handshake \(long-polling, 20 socket\.io-client clients\)/);
  assert.match(report, /\| idle long-polling client \(RSS\) \| -?[\d,]+ B \| — \| — \|/);
  assert.match(report, /\| long-polling latency p99 \| [\d,]+ µs \| — \| — \|/);
  // nudged alone, recovery on and off: both columns and their ratio; the history's memory.
  assert.match(report, /\| 50 \| 1 \| [\d.]+ µs \| [\d.]+ µs \| ([\d.]+×|—) \|/);
  assert.match(report, /\| 3 \| 200 \| [\d,]+ KiB \| -?[\d,]+ KiB \|/);
  // Scale-out: nudged's column filled (2 hubs on Redis, every delivery checked); the stand-in
  // has no Redis adapter (it refuses --redis), which is a finding and an empty column.
  assert.match(report, /## Scale-out on Redis \(2 hubs on one redis-server, 50 clients/);
  assert.match(report, /\| clients held \| 50 \| — \|/);
  assert.match(report, /\| targeted: latency p99 \| [\d,]+ µs \| — \|/);
  assert.match(report, /\| broadcast: delivered \| 100 \| — \|/);
  assert.match(report, /- standin-peer\.mjs scale-out, 2 hubs on one Redis, 50 clients: could not complete/);
  // nudged kept every client: no finding names it.
  assert.doesNotMatch(report, /^- nudged/m);
  assert.equal(existsSync(`${dir}/results.png`), true);
  assert.deepEqual(processesRunning(peer), [], 'a stand-in outlived bench/run.mjs');
});

test('nudged leaving clients in their handshake fails the run with the reason', async (t) => {
  const dir = mkdtempSync(`${tmpdir()}/bench-run-`);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const nudged = privateStandin(dir);
  const { code, stderr } = await benchRun(
    ['--nudged', nudged, '--only', 'memory', '--report', `${dir}/RESULTS.md`], { STANDIN_MODE: 'stall' });
  assert.equal(code, 1);
  assert.match(stderr, /check\(s\) failed/);
  assert.match(stderr, /nudged held 25 of 50 clients; 25 never finished the handshake \(idle memory, 50 clients\)/);
  assert.equal(existsSync(`${dir}/RESULTS.md`), false, 'no report from a failed run');
  assert.deepEqual(processesRunning(nudged), [], 'a stand-in outlived bench/run.mjs');
});
