// The README's "A 5-minute tour", run as a reader runs it: its code blocks are taken from
// README.md in the order written, so the test breaks when the README drifts from what works.
//
// - `make run` is run as written (ARGS="--port <free port>" from the environment: the Makefile's
//   `ARGS ?=`), and what it prints must be the secret and API key the snippets use.
// - A `js`/`python` block is saved under the name the text before it gives ("save as `x`"), in
//   a scratch directory outside the repository that links the repository's tools/, clients/,
//   build/ and node_modules/ (so "in this directory" holds).
// - Each `sh` block's commands run in order in that directory; the `# ...` lines after a
//   command are its expected output, each matching a line of it, in order (`…` matches
//   anything). `node tour.mjs` keeps running: its expected line must appear while it runs.
// - Every command that emits (its text contains `emit`) must make the tour's client print one
//   more `invalidate ["balance"]` line; the first must be the line the README quotes.
// - `127.0.0.1:8080` and `localhost:8080` become the free port; the CLI gets NUDGE_URL.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, eventually } from '../integration/lib/hub.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

// The tour's section of README.md as a list of { lang, code, saveAs } in document order.
function tourBlocks() {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('## A 5-minute tour');
  assert.ok(start >= 0, 'README.md has no "## A 5-minute tour" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const blocks = [];
  const fence = /```(\w+)\n([\s\S]*?)```/g;
  let last = 0;
  for (let m; (m = fence.exec(section)); ) {
    const prose = section.slice(last, m.index);
    const save = [...prose.matchAll(/save as\s+`([^`]+)`/g)].at(-1);
    blocks.push({ lang: m[1], code: m[2], saveAs: save?.[1] });
    last = fence.lastIndex;
  }
  return { section, blocks };
}

// An sh block as [{ command, expect: [line patterns] }]: `\` continues a command, `# ` lines
// after it are its expected output.
function commands(code) {
  const out = [];
  let pending = '';
  for (const line of code.split('\n')) {
    if (pending) {
      pending += `\n${line}`;
      if (!line.endsWith('\\')) out.push({ command: pending, expect: [] }), (pending = '');
    } else if (/^#( |$)/.test(line)) {
      assert.ok(out.length > 0, `an expected-output line before any command: ${line}`);
      out.at(-1).expect.push(line.slice(2));
    } else if (line.trim()) {
      if (line.endsWith('\\')) pending = line;
      else out.push({ command: line, expect: [] });
    }
  }
  return out;
}

const pattern = (expected) =>
  new RegExp(`^${expected.split('…').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);

// Every expected line matches one output line, in order.
function assertPrinted(command, output, expect) {
  const lines = output.split('\n').map((l) => l.trimEnd());
  let at = 0;
  for (const expected of expect) {
    const re = pattern(expected);
    while (at < lines.length && !re.test(lines[at])) at++;
    assert.ok(at < lines.length, `\`${command}\` did not print "${expected}"; it printed:\n${output}`);
    at++;
  }
}

const children = [];
let scratch;
after(() => {
  for (const child of children) {
    // Each was started detached: its process group holds make and the hub it started.
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
  }
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function start(command, { cwd, env }) {
  const child = spawn('bash', ['-c', command], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

test('the README tour works top to bottom, in the order written', async () => {
  const { section, blocks } = tourBlocks();
  assert.ok(blocks.length >= 5, `the tour has only ${blocks.length} code blocks`);
  const port = await freePort();
  const hubUrl = `http://127.0.0.1:${port}`;
  const localize = (code) => code.replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`)
    .replaceAll('localhost:8080', `localhost:${port}`);

  scratch = mkdtempSync(join(tmpdir(), 'nudge-tour-'));
  for (const name of ['tools', 'clients', 'build', 'node_modules']) symlinkSync(join(root, name), join(scratch, name));
  const env = { ...process.env, NUDGE_URL: hubUrl };
  for (const name of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL']) delete env[name];

  let hub;
  let client;
  let invalidations = 0;
  const invalidateLines = () => (client?.output() ?? '').split('\n').filter((l) => l.startsWith('invalidate ["balance"]'));
  const quoted = /The client prints `([^`]+)`/.exec(section)?.[1];
  assert.ok(quoted, 'the tour no longer says what the client prints');

  for (const [index, block] of blocks.entries()) {
    const where = `README tour block ${index + 1} (${block.lang})`;
    if (block.lang === 'js' || block.lang === 'python') {
      assert.ok(block.saveAs, `${where}: the text before it does not say "save as \`file\`"`);
      writeFileSync(join(scratch, block.saveAs), localize(block.code));
      continue;
    }
    assert.equal(block.lang, 'sh', `${where}: unexpected language`);
    for (const { command, expect } of commands(block.code)) {
      const line = localize(command);
      if (/^make run\b/.test(command)) {
        // Started from the repository, as written; the port comes from ARGS in the environment.
        hub = start(line, { cwd: root, env: { ...env, ARGS: `--port ${port}` } });
        await eventually(() => /API key: +\S+/.test(hub.output()) || hub.child.exitCode !== null,
          { timeoutMs: 240_000, intervalMs: 200 });
        assert.ok(hub.child.exitCode === null, `make run exited:\n${hub.output()}`);
        const secret = /JWT secret: +(\S+)/.exec(hub.output())?.[1];
        const apiKey = /API key: +(\S+)/.exec(hub.output())?.[1];
        assert.ok(hub.output().includes(`listening on ${hubUrl}`), `make run serves elsewhere:\n${hub.output()}`);
        const snippets = blocks.map((b) => b.code).join('\n');
        assert.ok(snippets.includes(`'${secret}'`), `the tour's snippets do not use the hub's JWT secret ${secret}`);
        assert.ok(snippets.includes(`Bearer ${apiKey}`), `the tour's curl does not use the hub's API key ${apiKey}`);
        assertPrinted(command, hub.output(), expect);
      } else if (/^node tour\.mjs$/.test(command)) {
        client = start(line, { cwd: scratch, env });
        await eventually(() => {
          try { assertPrinted(command, client.output(), expect); return true; } catch { return client.child.exitCode !== null; }
        }, { timeoutMs: 15_000 });
        assertPrinted(command, client.output(), expect);
      } else {
        assert.ok(hub, `${where}: \`${command}\` runs before the hub was started`);
        let stdout;
        try {
          ({ stdout } = await run('bash', ['-c', line], { cwd: scratch, env, timeout: 60_000 }));
        } catch (error) {
          assert.fail(`\`${command}\` failed (${error.code}):\n${error.stdout}${error.stderr}`);
        }
        assertPrinted(command, stdout, expect);
        if (command.includes('emit')) {
          assert.ok(client, `${where}: \`${command}\` emits before the tour's client runs`);
          invalidations++;
          await eventually(() => invalidateLines().length >= invalidations, { timeoutMs: 10_000 })
            .catch(() => assert.fail(`after \`${command}\` the client printed no new invalidate line:\n${client.output()}`));
        }
      }
    }
  }
  assert.ok(hub && client, 'the tour starts no hub or no client');
  assert.ok(invalidations >= 4, `the tour emits ${invalidations} times; it shows curl, CLI, Python and Node`);
  assert.equal(invalidateLines().length, invalidations, `the client printed:\n${client.output()}`);
  assert.equal(invalidateLines()[0], quoted, 'the first invalidate line is not the one the README quotes');
  assert.doesNotMatch(client.output(), /refused:/);
});
