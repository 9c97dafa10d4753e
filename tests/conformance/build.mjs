// Builds each conformance app once with its framework's usual tooling (Vite and its plugin for
// React, Vue, Solid and Svelte; Angular's application builder through `ng build`) into
// build/conformance/<framework>-<hash>/, where the hash covers everything the bundle is made of:
// the app's sources, the shared module, the built @nudge packages and the lockfile. An unchanged
// app is not rebuilt; a changed one replaces its older builds.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const root = fileURLToPath(new URL('../../', import.meta.url));
const apps = fileURLToPath(new URL('./apps/', import.meta.url));
const cacheDir = join(root, 'build', 'conformance');

/** Each framework: its binding package (clients/<binding>) and how its app is built. */
export const FRAMEWORKS = {
  react: { binding: 'react-query', tool: 'vite' },
  vue: { binding: 'vue-query', tool: 'vite' },
  solid: { binding: 'solid-query', tool: 'vite' },
  svelte: { binding: 'svelte-query', tool: 'vite' },
  angular: { binding: 'angular-query', tool: 'angular' },
};

const files = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
  const path = join(dir, entry.name);
  if (entry.isDirectory()) return entry.name === 'dist' || entry.name === 'node_modules' ? [] : files(path);
  return [path];
});

const sourceHash = (framework) => {
  const { binding } = FRAMEWORKS[framework];
  const dists = [join(root, 'clients/query-core/dist'), join(root, 'clients', binding, 'dist')];
  for (const dist of dists) {
    if (!existsSync(dist)) throw new Error(`conformance: ${relative(root, dist)} is missing: run \`make client-build\` first`);
  }
  const inputs = [...files(join(apps, framework)), join(apps, 'shared.ts'), ...dists.flatMap((d) => files(d)),
    join(root, 'package-lock.json')].sort();
  const hash = createHash('sha256');
  for (const file of inputs) hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 16);
};

async function buildWith(framework, outDir) {
  const appDir = join(apps, framework);
  if (FRAMEWORKS[framework].tool === 'vite') {
    const { build } = await import('vite');
    await build({ root: appDir, configFile: join(appDir, 'vite.config.mjs'), build: { outDir, emptyOutDir: true } });
    return outDir;
  }
  try {
    await run(join(root, 'node_modules/.bin/ng'), ['build', '--output-path', outDir], {
      cwd: appDir, env: { ...process.env, NG_CLI_ANALYTICS: 'false', NG_FORCE_TTY: 'false' }, maxBuffer: 64 << 20,
    });
  } catch (error) {
    throw new Error(`conformance: ng build of the Angular app failed:\n${error.stdout}\n${error.stderr}`);
  }
  return join(outDir, 'browser');
}

/** Resolves to { dir (the files to serve), ms (build time, 0 when cached), cached }. */
export async function buildApp(framework) {
  const hash = sourceHash(framework);
  const target = join(cacheDir, `${framework}-${hash}`);
  const served = (dir) => (FRAMEWORKS[framework].tool === 'angular' ? join(dir, 'browser') : dir);
  if (existsSync(join(served(target), 'index.html'))) return { dir: served(target), ms: 0, cached: true };
  mkdirSync(cacheDir, { recursive: true });
  for (const old of readdirSync(cacheDir)) {
    if (old.startsWith(`${framework}-`)) rmSync(join(cacheDir, old), { recursive: true, force: true });
  }
  const partial = `${target}.partial`;
  const started = Date.now();
  await buildWith(framework, partial);
  const ms = Date.now() - started;
  renameSync(partial, target);
  if (!statSync(join(served(target), 'index.html')).isFile()) throw new Error(`conformance: ${framework} built no index.html`);
  return { dir: served(target), ms, cached: false };
}
