// Helpers for the bench tool tests: the stand-in server and nudge-loadgen as child processes.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const LOADGEN = `${ROOT}/build-bench/nudge-loadgen`;
export const STANDIN = `${ROOT}/bench/test/fixtures/standin-peer.mjs`;

// Resolves with `promise`, or rejects after `ms` with `what` in the message.
export function within(ms, what, promise) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// Starts the stand-in in `mode` (drop | stall); resolves once it listens.
export async function startStandin(mode) {
  const child = spawn(process.execPath, [STANDIN, '--port', '0'], {
    env: { ...process.env, STANDIN_MODE: mode }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let out = '';
  const url = await within(20000, 'stand-in listening', new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (match) resolve(match[1]);
    });
    exited.then((code) => reject(new Error(`stand-in exited (${code}): ${out}`)));
  }));
  return {
    url,
    metrics: async () => (await fetch(`${url}/metrics`)).json(),
    stop: async () => { child.kill('SIGTERM'); await exited; },
  };
}

// Runs nudge-loadgen with `args`; `line(predicate)` resolves with the first JSON line of its
// stdout that matches, `lines` holds them all in order, `exited` resolves with the exit code.
export function loadgen(args) {
  const child = spawn(LOADGEN, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.on('error', () => {}); // EPIPE when it has already exited
  const lines = [];
  const waiters = [];
  let partial = '';
  child.stdout.on('data', (chunk) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop();
    for (const text of parts) {
      const line = JSON.parse(text);
      lines.push(line);
      for (const w of waiters.filter((x) => x.predicate(line))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const line = (predicate) => {
    const seen = lines.find(predicate);
    return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ predicate, resolve }));
  };
  return {
    lines, line, exited,
    release: () => child.stdin.end(),
    interrupt: () => child.kill('SIGINT'),
    kill: () => child.kill('SIGKILL'),
  };
}

// Polls `probe` until `accept` holds for its result, for at most `ms`.
export async function until(ms, what, probe, accept) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await probe();
    if (accept(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: still ${JSON.stringify(last)} after ${ms} ms`);
}
