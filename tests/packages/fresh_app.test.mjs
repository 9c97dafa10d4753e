// The JS packages as applications install them: `npm pack` of @nudge/query-core, the five
// framework bindings (@nudge/react-query, vue-query, solid-query, svelte-query, angular-query) and
// @nudge/emitter; in a temporary directory outside the workspace one fresh app per framework
// (tests/packages/apps/<framework>, copied) installs the tarballs and the framework at the
// workspace's versions (from npm's cache when it has them), is type-checked with the framework's
// checker against the shipped .d.ts (tsc, vue-tsc, svelte-check, Angular's compiler) and built
// with its usual tooling (Vite; Angular's application builder), and in Chromium connects to a
// real hub; an emit sent with the installed @nudge/emitter makes each page refetch its query.
// The apps share one node_modules (one install) one directory up, as a monorepo would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startHub, token, API_KEY } from '../integration/lib/hub.mjs';
import { launchChromium, serveApp, json } from '../integration/lib/browser.mjs';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const appsDir = fileURLToPath(new URL('./apps/', import.meta.url));
let work;
let hub;
let browser;
const servers = [];
const bases = new Map(); // framework → its app's URL
const balances = new Map();
const served = new Map(); // user → balance requests

// The version the workspace installed for `name` as seen from `dir` (node's lookup, upwards), so
// npm finds it in its cache.
function versionOf(dir, name) {
  for (let at = resolve(root, dir); ; at = resolve(at, '..')) {
    const file = join(at, 'node_modules', name, 'package.json');
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')).version;
    assert.notEqual(at, resolve(root), `${name} is not installed in the workspace (run npm ci)`);
  }
}

async function sh(file, args, options) {
  try {
    return await run(file, args, { maxBuffer: 64 << 20, ...options });
  } catch (error) {
    throw new Error(`${file} ${args.join(' ')} failed:\n${error.stdout}\n${error.stderr}`);
  }
}

// A backend's emit with the installed @nudge/emitter, type-checked like the page.
const BACKEND_TS = `
import { createEmitter, type Emitter } from '@nudge/emitter'

const [url, apiKey, userId] = process.argv.slice(2) as [string, string, string]
const io: Emitter = createEmitter({ url, apiKey })
const accepted: number = await io.to('user_' + userId).emit('balance_updated', { userId })
console.log(accepted)
io.close()
`;

// Each framework: the binding it installs, how its app is type-checked and built, where the build
// lands. The commands run in the app's directory with the shared node_modules one level up.
const FRAMEWORKS = {
  react: { pkg: '@nudge/react-query', check: ['tsc', '-p', 'tsconfig.json'], build: ['vite', 'build'], dist: 'dist' },
  vue: { pkg: '@nudge/vue-query', check: ['vue-tsc', '-p', 'tsconfig.json'], build: ['vite', 'build'], dist: 'dist' },
  solid: { pkg: '@nudge/solid-query', check: ['tsc', '-p', 'tsconfig.json'], build: ['vite', 'build'], dist: 'dist' },
  svelte: {
    pkg: '@nudge/svelte-query',
    check: ['svelte-check', '--tsconfig', './tsconfig.json', '--fail-on-warnings'],
    build: ['vite', 'build'],
    dist: 'dist',
  },
  // Angular's builder type-checks the code and the templates (strictTemplates) as it compiles.
  angular: { pkg: '@nudge/angular-query', check: null, build: ['ng', 'build'], dist: 'dist/browser' },
};
const timings = [];

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'nudge-fresh-app-'));
  assert.ok(!work.startsWith(root), 'the apps must live outside the workspace');
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  const workspaces = ['clients/query-core', 'clients/react-query', 'clients/vue-query', 'clients/solid-query',
    'clients/svelte-query', 'clients/angular-query', 'clients/node'];
  const { stdout } = await sh('npm', ['pack', '--json', '--pack-destination', tarballs,
    ...workspaces.flatMap((w) => ['-w', w])], { cwd: root });
  // npm pack prints its prepack builds' output before the JSON.
  const packed = JSON.parse(stdout.slice(stdout.indexOf('[\n')));
  assert.equal(packed.length, workspaces.length);
  for (const pkg of packed) {
    const files = pkg.files.map((f) => f.path);
    for (const needed of ['README.md', 'LICENSE', 'package.json', 'dist/index.js', 'dist/index.d.ts'])
      assert.ok(files.includes(needed), `${pkg.name}'s tarball has no ${needed}: ${files.join(', ')}`);
    assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), `${pkg.name} packs sources or tests`);
  }
  const tarball = (name) => `file:${join(tarballs, packed.find((p) => p.name === name).filename)}`;

  const rq = 'clients/react-query';
  const conf = 'tests/conformance';
  const at = (dir, names) => Object.fromEntries(names.map((n) => [n, versionOf(dir, n)]));
  writeFileSync(join(work, 'package.json'), JSON.stringify({
    name: 'fresh-apps',
    private: true,
    type: 'module',
    // Not on the registry yet: every @nudge package comes from its tarball.
    dependencies: {
      ...Object.fromEntries(packed.map((p) => [p.name, tarball(p.name)])),
      ...at(rq, ['@tanstack/react-query', 'react', 'react-dom', 'socket.io-client']),
      ...at(conf, ['vue', '@tanstack/vue-query', 'solid-js', '@tanstack/solid-query', 'svelte',
        '@tanstack/svelte-query', '@angular/core', '@angular/common', '@angular/compiler',
        '@angular/platform-browser', '@tanstack/angular-query-experimental', 'rxjs']),
    },
    devDependencies: {
      ...at(rq, ['vite', 'typescript', '@types/react', '@types/react-dom']),
      ...at('clients/node', ['@types/node']),
      ...at(conf, ['@vitejs/plugin-vue', 'vite-plugin-solid', '@sveltejs/vite-plugin-svelte',
        '@angular/build', '@angular/cli', '@angular/compiler-cli']),
      ...at('.', ['vue-tsc', 'svelte-check']),
    },
  }, null, 2));
  writeFileSync(join(work, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'nodenext', strict: true, noEmit: true, skipLibCheck: false,
      lib: ['ES2022'], types: ['node'],
    },
    include: ['backend.ts'],
  }, null, 2));
  writeFileSync(join(work, 'backend.ts'), BACKEND_TS);
  for (const framework of Object.keys(FRAMEWORKS)) {
    cpSync(join(appsDir, framework), join(work, framework), { recursive: true });
  }

  let started = Date.now();
  await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: work });
  timings.push(`install ${Date.now() - started} ms`);
  for (const pkg of packed.map((p) => p.name)) {
    const installed = join(work, 'node_modules', pkg);
    assert.ok(existsSync(join(installed, 'LICENSE')) && existsSync(join(installed, 'README.md')));
    assert.ok(!readFileSync(join(installed, 'package.json'), 'utf8').includes('workspace'), `${pkg} is linked, not installed`);
  }
  const bin = (name) => join(work, 'node_modules', '.bin', name);
  await sh(bin('tsc'), ['-p', 'tsconfig.json'], { cwd: work });
  // The backend runs from plain JS: strip the types with the same compiler.
  await sh(bin('tsc'), ['backend.ts', '--module', 'nodenext', '--target', 'es2022',
    '--types', 'node', '--outDir', 'out', '--skipLibCheck'], { cwd: work });

  hub = await startHub();
  for (const [framework, how] of Object.entries(FRAMEWORKS)) {
    const app = join(work, framework);
    started = Date.now();
    const env = { ...process.env, NG_CLI_ANALYTICS: 'false' };
    if (how.check) await sh(bin(how.check[0]), how.check.slice(1), { cwd: app, env });
    await sh(bin(how.build[0]), how.build.slice(1), { cwd: app, env });
    timings.push(`${framework} ${Date.now() - started} ms`);
    const { server, base } = await serveApp(join(app, how.dist), (url, req, res) => {
      const user = url.searchParams.get('user');
      res.setHeader('cache-control', 'no-store');
      if (url.pathname === '/api/token') return json(res, { token: token(user) });
      if (url.pathname === '/api/balance') {
        served.set(user, (served.get(user) ?? 0) + 1);
        return json(res, { balance: balances.get(user) ?? 100 });
      }
      return false;
    });
    servers.push(server);
    bases.set(framework, base);
  }
  console.log(`# fresh apps: ${timings.join(', ')} (type-check + build each)`);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const server of servers) server.close();
  await hub?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

for (const [framework, how] of Object.entries(FRAMEWORKS)) {
  test(`${framework}: the bundle holds the installed ${how.pkg}, not the workspace sources`, () => {
    const dir = join(work, framework, how.dist);
    const scripts = readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.js'));
    assert.ok(scripts.length > 0);
    const bundle = scripts.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    assert.match(bundle, /nudge:/, 'the bundle lacks @nudge/query-core (its lock name prefix)');
  });

  test(`${framework}: a fresh app with the packed tarballs connects to the hub in Chromium and refetches on an emit`, async () => {
    const user = `fresh-${framework}`;
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const errors = [];
      const consoleLines = [];
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('console', (message) => consoleLines.push(message.text()));
      await page.goto(`${bases.get(framework)}/?user=${user}&hub=${encodeURIComponent(hub.url)}`);
      await page.locator('#status', { hasText: /^connected$/ }).waitFor({ timeout: 20_000 }).catch(async (error) => {
        assert.fail(`${error.message}\npage: ${await page.locator('body').innerText()}\nconsole: ${consoleLines.join('\n')}\nerrors: ${errors.join('\n')}`);
      });
      await page.locator('#balance', { hasText: '100' }).waitFor();
      const before = served.get(user);

      balances.set(user, 250);
      const { stdout } = await sh('node', [join(work, 'out', 'backend.js'), hub.url, API_KEY, user], { cwd: work });
      assert.equal(stdout.trim(), '1');
      await page.locator('#balance', { hasText: '250' }).waitFor({ timeout: 10_000 });
      assert.equal(served.get(user), before + 1, 'one refetch for one emit');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}
