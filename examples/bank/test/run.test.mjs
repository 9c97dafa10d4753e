// run.mjs, the `make demo` launcher: with either backend it serves the app and the hub on the
// ports it is given, and stopping it stops the hub and the backend too (no orphan); a port
// already taken fails clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort, distinctFreePorts, startHub } from '../../../tests/integration/lib/hub.mjs';
import { BACKENDS } from './browser.mjs';

const RUN = fileURLToPath(new URL('../run.mjs', import.meta.url));

function launch(args) {
  const child = spawn(process.execPath, [RUN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const waitFor = (pattern) =>
    new Promise((resolve, reject) => {
      const check = () => (pattern.test(output) ? resolve(output) : undefined);
      child.stdout.on('data', check);
      check();
      exited.then(({ code }) => reject(new Error(`run.mjs exited (${code}):\n${output}`)));
    });
  return { child, exited, waitFor, output: () => output };
}

const refused = (url) =>
  fetch(url).then(
    () => false,
    (error) => error.cause?.code === 'ECONNREFUSED',
  );

for (const backend of BACKENDS) {
  test(`${backend} backend: serves the app and the hub; SIGINT stops both`, async () => {
    const [port, hubPort] = await distinctFreePorts(2);
    // The first run builds dist/, the others serve it.
    const build = backend === BACKENDS[0] ? [] : ['--no-build'];
    const demo = launch(['--backend', backend, '--port', `${port}`, '--hub-port', `${hubPort}`, ...build]);
    try {
      await demo.waitFor(/nudge bank is running/);
      assert.match(demo.output(), new RegExp(`http://127\\.0\\.0\\.1:${port}`));
      assert.match(demo.output(), /alice \/ wonderland/);
      assert.match(demo.output(), new RegExp(`\\(${backend} backend\\)`));
      const page = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<div id="root">/);
      const config = await (await fetch(`http://127.0.0.1:${port}/api/config`)).json();
      assert.deepEqual(config, { hubUrl: `http://127.0.0.1:${hubPort}` });
      assert.equal((await fetch(`http://127.0.0.1:${hubPort}/healthz`)).status, 200);

      demo.child.kill('SIGINT');
      assert.deepEqual(await demo.exited, { code: 0, signal: null });
      assert.ok(await refused(`http://127.0.0.1:${hubPort}/healthz`), 'the hub is gone');
      assert.ok(await refused(`http://127.0.0.1:${port}/`), 'the bank is gone');
    } finally {
      demo.child.kill('SIGKILL');
    }
  });
}

// `make demo` while something holds a port — a plain listener, or a whole hub from `make run`
// (which answers /healthz as the demo's hub would): one line naming the port, exit 1, no banner,
// nothing started.
for (const [holder, hold] of [
  ['a listener', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    return { port: taken.address().port, release: async () => taken.close() };
  }],
  ['a running hub', async () => {
    const hub = await startHub();
    return { port: Number(new URL(hub.url).port), release: () => hub.stop() };
  }],
]) {
  test(`the hub port held by ${holder}: exits 1 with one line, starts nothing, no banner`, async () => {
    const held = await hold();
    const port = await freePort();
    const demo = launch(['--port', String(port), '--hub-port', String(held.port), '--no-build']);
    try {
      const { code } = await demo.exited;
      assert.equal(code, 1);
      assert.equal(
        demo.output(),
        `demo: port ${held.port} for the hub is already in use on 127.0.0.1 (a \`make run\` or another demo ` +
          `still running?): stop it, or choose another port with --hub-port (make demo ARGS="--hub-port ${held.port + 1}")\n`,
      );
      assert.doesNotMatch(demo.output(), /nudge bank is running/);
      assert.ok(await refused(`http://127.0.0.1:${port}/`));
      // `make demo` asks the same before it builds anything.
      const check = launch(['--check-ports', '--port', String(port), '--hub-port', String(held.port)]);
      assert.equal((await check.exited).code, 1);
      assert.match(check.output(), new RegExp(`^demo: port ${held.port} for the hub is already in use`));
    } finally {
      demo.child.kill('SIGKILL');
      await held.release();
    }
  });
}

test('the app port already in use: exits 1 before the hub starts', async () => {
  const taken = createServer().listen(0, '127.0.0.1');
  await once(taken, 'listening');
  const hubPort = await freePort();
  const port = String(taken.address().port);
  const demo = launch(['--backend', 'django', '--port', port, '--hub-port', String(hubPort), '--no-build']);
  try {
    const { code } = await demo.exited;
    assert.equal(code, 1);
    assert.match(demo.output(), new RegExp(`^demo: port ${port} for the bank app is already in use .*--port`));
    assert.doesNotMatch(demo.output(), /nudge bank is running/);
    assert.ok(await refused(`http://127.0.0.1:${hubPort}/healthz`), 'no hub was started');
  } finally {
    demo.child.kill('SIGKILL');
    taken.close();
  }
});

test('an unknown backend: exits 2 and names the choices', async () => {
  const demo = launch(['--backend', 'rails', '--no-build']);
  const { code } = await demo.exited;
  assert.equal(code, 2);
  assert.match(demo.output(), /--backend must be one of node, django, not "rails"/);
});

test('a mistyped option: exits 2 with the near miss; --version prints the version', async () => {
  const typo = launch(['--hub-prot', '8081', '--no-build']);
  assert.equal((await typo.exited).code, 2);
  assert.match(typo.output(), /^demo: unknown option --hub-prot \(did you mean --hub-port\?\); the options are --backend, /);
  const version = launch(['--version']);
  assert.equal((await version.exited).code, 0);
  assert.match(version.output(), /^nudge bank demo \d+\.\d+\.\d+\n$/);
});

test('--check-ports with both ports free: exit 0, nothing started', async () => {
  const [port, hubPort] = await distinctFreePorts(2);
  const check = launch(['--check-ports', '--port', String(port), '--hub-port', String(hubPort)]);
  assert.deepEqual(await check.exited, { code: 0, signal: null });
  assert.equal(check.output(), '');
  assert.ok(await refused(`http://127.0.0.1:${hubPort}/healthz`));
});
