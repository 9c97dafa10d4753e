// The Python package as a project installs it: `pip install clients/python` into a fresh venv
// (no network: --no-index, and the build backend from the system's setuptools), then used from
// a directory outside the repository to emit to a real hub, plainly and through Django.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startHub, seedClient, token, connected, nextEvent, API_KEY } from '../integration/lib/hub.mjs';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
let work;
let python;
let hub;
const sockets = [];

async function sh(file, args, options = {}) {
  try {
    return await run(file, args, { cwd: work, maxBuffer: 16 << 20, ...options });
  } catch (error) {
    throw new Error(`${file} ${args.join(' ')} failed:\n${error.stdout}\n${error.stderr}`);
  }
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'nudge-pip-'));
  // System site packages: Django and setuptools come from Debian, as in a project's venv.
  await sh('/usr/bin/python3', ['-m', 'venv', '--system-site-packages', join(work, 'venv')]);
  python = join(work, 'venv', 'bin', 'python');
  // From a copy: setuptools writes build/ and *.egg-info next to the sources it builds.
  cpSync(join(root, 'clients', 'python'), join(work, 'python'), {
    recursive: true,
    filter: (path) => !/(__pycache__|\.egg-info|\/build)$/.test(path),
  });
  await sh(python, ['-m', 'pip', 'install', '--quiet', '--no-build-isolation', '--no-index',
    join(work, 'python')]);
  hub = await startHub();
});

after(async () => {
  for (const socket of sockets) socket.disconnect();
  await hub?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('pip installs the distribution nudge-emitter with its metadata, outside the repository', async () => {
  const { stdout } = await sh(python, ['-c', `
import importlib.metadata as m, nudge, nudge.django, nudge.channels, pathlib
print(m.version("nudge-emitter"))
print(m.metadata("nudge-emitter")["License"])
print(pathlib.Path(nudge.__file__).resolve())
print((pathlib.Path(nudge.__file__).parent / "py.typed").exists())
`], { env: { ...process.env, PYTHONPATH: '' } });
  const [version, license, file, typed] = stdout.trim().split('\n');
  assert.match(version, /^\d+\.\d+\.\d+/);
  assert.equal(license, 'MIT');
  assert.ok(file.startsWith(join(work, 'venv')), `nudge imported from ${file}, not the venv`);
  assert.equal(typed, 'True');
});

test('the installed package emits to a real hub: plain, and from Django after the commit', async () => {
  const socket = await connected(seedClient(hub.url, token('42')));
  sockets.push(socket);

  const plain = nextEvent(socket, 'balance_updated');
  const { stdout } = await sh(python, ['-c',
    'import nudge; print(nudge.emit_event(42, "balance_updated", {"via": "pip"}))'],
  { env: { ...process.env, PYTHONPATH: '', NUDGE_URL: hub.url, NUDGE_API_KEY: API_KEY } });
  assert.equal(stdout.trim(), '1');
  assert.deepEqual(await plain, [{ via: 'pip' }]);

  // The settings clients/python/README.md documents, in a minimal Django project.
  writeFileSync(join(work, 'settings.py'), `
SECRET_KEY = "test"
INSTALLED_APPS = []
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
NUDGE_URL = ${JSON.stringify(hub.url)}
NUDGE_API_KEY = ${JSON.stringify(API_KEY)}
`);
  // Django's start-up comes first: a generous wait, for a loaded machine.
  const committed = nextEvent(socket, 'transaction_happened', 30_000);
  await sh(python, ['-c', `
import django
django.setup()
from django.db import transaction
from nudge.django import emit_event
with transaction.atomic():
    emit_event(42, "transaction_happened", {"via": "django"})
`], { env: { ...process.env, PYTHONPATH: work, DJANGO_SETTINGS_MODULE: 'settings' } });
  assert.deepEqual(await committed, [{ via: 'django' }]);
});

test('the installed nudge.django app migrates its outbox and its nudge_relay command publishes', async () => {
  const socket = await connected(seedClient(hub.url, token('43')));
  sockets.push(socket);
  // docs/outbox.md's setup, in a minimal Django project: the app, migrate, a durable event.
  writeFileSync(join(work, 'durable_settings.py'), `
SECRET_KEY = "test"
INSTALLED_APPS = ["nudge.django"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ${JSON.stringify(join(work, 'outbox.sqlite3'))}}}
NUDGE_URL = ${JSON.stringify(hub.url)}
NUDGE_API_KEY = ${JSON.stringify(API_KEY)}
`);
  const env = { ...process.env, PYTHONPATH: work, DJANGO_SETTINGS_MODULE: 'durable_settings' };
  const admin = ['-m', 'django'];
  await sh(python, [...admin, 'migrate', '--verbosity', '0'], { env });
  await sh(python, ['-c', `
import django
django.setup()
from django.db import transaction
from nudge.django import emit_event
with transaction.atomic():
    emit_event(43, "transaction_happened", {"via": "outbox"}, durable=True)
`], { env });
  const relayed = nextEvent(socket, 'transaction_happened', 30_000);
  const { stdout } = await sh(python, [...admin, 'nudge_relay', '--once'], { env });
  assert.equal(stdout.trim(), 'nudge relay: published 1 events');
  assert.deepEqual(await relayed, [{ via: 'outbox' }]);
});
