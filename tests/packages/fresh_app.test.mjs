// The JS packages as an application installs them: `npm pack` of @nudge/query-core,
// @nudge/react-query and @nudge/emitter, a fresh Vite + React + TanStack Query app in a temporary
// directory outside the workspace that installs the three tarballs (and react, react-dom, @tanstack/react-query,
// socket.io-client, vite, typescript at the workspace's versions, from npm's cache when it has
// them), type-checks against the shipped .d.ts, builds with vite, and in Chromium connects to a
// real hub; an emit sent with the installed @nudge/emitter makes the page refetch its query.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startHub, token, API_KEY } from '../integration/lib/hub.mjs';
import { launchChromium, serveApp, json } from '../integration/lib/browser.mjs';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
let work;
let app;
let hub;
let server;
let browser;
let base;
const balances = new Map();
const served = new Map(); // user → balance requests

// The version the workspace resolves `name` to from `dir`, so npm finds it in its cache.
const versionOf = (dir, name) =>
  JSON.parse(readFileSync(createRequire(join(root, dir, 'package.json')).resolve(`${name}/package.json`), 'utf8')).version;

async function sh(file, args, options) {
  try {
    return await run(file, args, { maxBuffer: 64 << 20, ...options });
  } catch (error) {
    throw new Error(`${file} ${args.join(' ')} failed:\n${error.stdout}\n${error.stderr}`);
  }
}

const APP_TSX = `
import { StrictMode, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query'
import { NudgeProvider, useNudgeStatus } from '@nudge/react-query/react'
import type { EventMap } from '@nudge/react-query'

declare module '@nudge/react-query' {
  interface Register {
    events: { balance_updated: { userId: string } }
  }
}

const user = new URLSearchParams(location.search).get('user') ?? 'nobody'
const hub = new URLSearchParams(location.search).get('hub') ?? ''
const events = { balance_updated: ['balance'] } satisfies EventMap
const queryClient = new QueryClient()

const json = async <T,>(path: string): Promise<T> => (await fetch(path)).json() as Promise<T>
const getToken = async (): Promise<string> =>
  (await json<{ token: string }>('/api/token?user=' + user)).token

function Balance() {
  const { data } = useQuery({
    queryKey: ['balance'],
    queryFn: () => json<{ balance: number }>('/api/balance?user=' + user),
  })
  return <p id="balance">{data === undefined ? 'loading' : String(data.balance)}</p>
}

function Status() {
  const status = useNudgeStatus()
  return <p id="status">{status.state}</p>
}

function App() {
  const [token] = useState(() => getToken)
  return (
    <QueryClientProvider client={queryClient}>
      <NudgeProvider url={hub} events={events} getToken={token}>
        <Status />
        <Balance />
      </NudgeProvider>
    </QueryClientProvider>
  )
}

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>)
`;

// A backend's emit with the installed @nudge/emitter, type-checked like the page.
const BACKEND_TS = `
import { createEmitter, type Emitter } from '@nudge/emitter'

const [url, apiKey, userId] = process.argv.slice(2) as [string, string, string]
const io: Emitter = createEmitter({ url, apiKey })
const accepted: number = await io.to('user_' + userId).emit('balance_updated', { userId })
console.log(accepted)
io.close()
`;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'nudge-fresh-app-'));
  assert.ok(!work.startsWith(root), 'the app must live outside the workspace');
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  const { stdout } = await sh('npm', ['pack', '--json', '--pack-destination', tarballs,
    '-w', 'clients/query-core', '-w', 'clients/react-query', '-w', 'clients/node'], { cwd: root });
  // npm pack prints its prepack build's output before the JSON.
  const packed = JSON.parse(stdout.slice(stdout.indexOf('[\n')));
  for (const pkg of packed) {
    const files = pkg.files.map((f) => f.path);
    for (const needed of ['README.md', 'LICENSE', 'package.json', 'dist/index.js', 'dist/index.d.ts'])
      assert.ok(files.includes(needed), `${pkg.name}'s tarball has no ${needed}: ${files.join(', ')}`);
    assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), `${pkg.name} packs sources or tests`);
  }
  const tarball = (name) => join(tarballs, packed.find((p) => p.name === name).filename);

  app = join(work, 'app');
  mkdirSync(join(app, 'src'), { recursive: true });
  const rq = 'clients/react-query';
  writeFileSync(join(app, 'package.json'), JSON.stringify({
    name: 'fresh-app',
    private: true,
    type: 'module',
    dependencies: {
      // Not on the registry yet: the core that @nudge/react-query depends on comes from its tarball.
      '@nudge/query-core': `file:${tarball('@nudge/query-core')}`,
      '@nudge/react-query': `file:${tarball('@nudge/react-query')}`,
      '@nudge/emitter': `file:${tarball('@nudge/emitter')}`,
      '@tanstack/react-query': versionOf(rq, '@tanstack/react-query'),
      react: versionOf(rq, 'react'),
      'react-dom': versionOf(rq, 'react-dom'),
      'socket.io-client': versionOf(rq, 'socket.io-client'),
    },
    devDependencies: {
      vite: versionOf(rq, 'vite'),
      typescript: versionOf(rq, 'typescript'),
      '@types/react': versionOf(rq, '@types/react'),
      '@types/react-dom': versionOf(rq, '@types/react-dom'),
      '@types/node': versionOf('clients/node', '@types/node'),
    },
  }, null, 2));
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', jsx: 'react-jsx',
      strict: true, noEmit: true, skipLibCheck: false, lib: ['ES2022', 'DOM'], types: ['node'],
    },
    include: ['src', 'backend.ts'],
  }, null, 2));
  writeFileSync(join(app, 'index.html'),
    '<!doctype html><html><body><div id="root"></div><script type="module" src="/src/main.tsx"></script></body></html>\n');
  writeFileSync(join(app, 'vite.config.js'), `export default {
  esbuild: { jsx: 'automatic' },
  logLevel: 'warn',
  build: { rollupOptions: { onwarn(w, warn) { if (w.code !== 'MODULE_LEVEL_DIRECTIVE') warn(w) } } },
}\n`);
  writeFileSync(join(app, 'src', 'main.tsx'), APP_TSX);
  writeFileSync(join(app, 'backend.ts'), BACKEND_TS);

  await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app });
  for (const pkg of ['@nudge/query-core', '@nudge/react-query', '@nudge/emitter']) {
    const installed = join(app, 'node_modules', pkg);
    assert.ok(existsSync(join(installed, 'LICENSE')) && existsSync(join(installed, 'README.md')));
    assert.ok(!readFileSync(join(installed, 'package.json'), 'utf8').includes('workspace'), `${pkg} is linked, not installed`);
  }
  await sh(join(app, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: app });
  // The backend runs from plain JS: strip the types with the same compiler.
  await sh(join(app, 'node_modules/.bin/tsc'), ['backend.ts', '--module', 'nodenext', '--target', 'es2022',
    '--types', 'node', '--outDir', 'out', '--skipLibCheck'], { cwd: app });
  await sh(join(app, 'node_modules/.bin/vite'), ['build'], { cwd: app });

  hub = await startHub();
  const dist = join(app, 'dist');
  ({ server, base } = await serveApp(dist, (url, req, res) => {
    const user = url.searchParams.get('user');
    res.setHeader('cache-control', 'no-store');
    if (url.pathname === '/api/token') return json(res, { token: token(user) });
    if (url.pathname === '/api/balance') {
      served.set(user, (served.get(user) ?? 0) + 1);
      return json(res, { balance: balances.get(user) ?? 100 });
    }
    return false;
  }));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.close();
  await hub?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the bundle holds the installed packages, not the workspace sources', () => {
  const assets = readdirSync(join(app, 'dist', 'assets')).filter((f) => f.endsWith('.js'));
  assert.ok(assets.length > 0);
  const bundle = assets.map((f) => readFileSync(join(app, 'dist', 'assets', f), 'utf8')).join('\n');
  assert.match(bundle, /nudge:/, 'the bundle lacks @nudge/react-query (its lock name prefix)');
});

test('a fresh app with the packed tarballs connects to the hub in Chromium and refetches on an emit', async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    const consoleLines = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => consoleLines.push(message.text()));
    await page.goto(`${base}/?user=fresh1&hub=${encodeURIComponent(hub.url)}`);
    await page.locator('#status', { hasText: /^connected$/ }).waitFor({ timeout: 20_000 }).catch(async (error) => {
      assert.fail(`${error.message}\npage: ${await page.locator('body').innerText()}\nconsole: ${consoleLines.join('\n')}\nerrors: ${errors.join('\n')}`);
    });
    await page.locator('#balance', { hasText: '100' }).waitFor();
    const before = served.get('fresh1');

    balances.set('fresh1', 250);
    const { stdout } = await sh('node', [join(app, 'out', 'backend.js'), hub.url, API_KEY, 'fresh1'], { cwd: app });
    assert.equal(stdout.trim(), '1');
    await page.locator('#balance', { hasText: '250' }).waitFor({ timeout: 10_000 });
    assert.ok(served.get('fresh1') > before, 'the balance was not fetched again');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
