// A real nginx (Debian's) started as our own process around one of deploy/nginx/'s site files:
// the file's lines marked "# test: <marker>" are replaced with this run's ports and paths, and
// everything else nginx writes stays in `dir`.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NGINX = '/usr/sbin/nginx';

// The deploy file `name` (in deploy/nginx/) with the lines marked "test: <marker>" replaced.
export function localize(name, replacements) {
  const path = fileURLToPath(new URL(`../../../deploy/nginx/${name}`, import.meta.url));
  const lines = readFileSync(path, 'utf8').split('\n');
  for (const [marker, replacement] of Object.entries(replacements)) {
    const index = lines.findIndex((line) => line.includes(`# test: ${marker}`));
    assert.ok(index >= 0, `deploy/nginx/${name} has no line marked "test: ${marker}"`);
    lines[index] = replacement;
  }
  return lines.join('\n');
}

// Starts nginx with `site` (an http-context file), `workers` worker processes of `connections`
// each; resolves with
// { stop(), output() } once `ready()` (polled) is true. `spawnWith` lets a caller own the child
// (bench/run.mjs's phases stop what they started).
export async function startNginx(dir, site, { workers = 1, connections = 4096, ready, spawnWith = spawn } = {}) {
  writeFileSync(join(dir, 'site.conf'), site);
  for (const temp of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, temp), { recursive: true });
  // What /etc/nginx/nginx.conf gives a site file, with every path in `dir`.
  // Under root nginx's workers would run as nobody and could not write the cache in `dir`.
  const user = process.getuid?.() === 0 ? 'user root;' : '';
  writeFileSync(join(dir, 'nginx.conf'), `
daemon off;
${user}
worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
worker_rlimit_nofile ${connections * 2};
events { worker_connections ${connections}; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/site.conf;
}
`);
  const args = ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'error.log')];
  execFileSync(NGINX, ['-t', ...args], { stdio: 'pipe' });
  const child = spawnWith(NGINX, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const deadline = Date.now() + 10000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}):\n${output}`);
    if (await ready().catch(() => false)) break;
    if (Date.now() > deadline) throw new Error(`nginx did not become ready within 10 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
