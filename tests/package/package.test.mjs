// Install and package (make package-test): the .deb packages CPack built (make package), the
// install rules (cmake --install into a scratch prefix), the installed nudged --check-config on
// the installed example config, the systemd unit under systemd-analyze, and find_package(nudge)
// for the C++ emitter in a consumer project built against the installed files, publishing to a
// real hub. Nothing is installed on this machine's own /usr or /etc: every install goes to a
// scratch root or prefix under the temp directory.
//
// NUDGE_PACKAGE_DIR: the package build (build-package, holding the .deb files);
// NUDGE_BUILD_DIR: the release build (build), for cmake --install.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpsServer } from 'node:https';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startHub, seedClient, connected, nextEvent, mintToken } from '../integration/lib/hub.mjs';

const execFileP = promisify(execFile);
const run = (cmd, args, options = {}) => execFileP(cmd, args, { maxBuffer: 64 << 20, ...options });
const repo = fileURLToPath(new URL('../../', import.meta.url));
const packageDir = process.env.NUDGE_PACKAGE_DIR ?? join(repo, 'build-package');
const buildDir = process.env.NUDGE_BUILD_DIR ?? join(repo, 'build');
const scratch = mkdtempSync(join(tmpdir(), 'nudge-package-'));

function debFile(name) {
  const files = readdirSync(packageDir).filter((f) => f.startsWith(`${name}_`) && f.endsWith('.deb'));
  assert.equal(files.length, 1, `one ${name}_*.deb in ${packageDir} (run make package): ${files}`);
  return join(packageDir, files[0]);
}

// KEY=VALUE lines as systemd's EnvironmentFile= reads them (comments and blanks skipped).
function parseEnvFile(text) {
  const env = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) env[match[1]] = match[2];
  }
  return env;
}

// The long options `nudged --help` lists, from the binary itself.
async function helpOptions(nudged) {
  const { stdout } = await run(nudged, ['--help']);
  const names = new Set();
  for (const line of stdout.split('\n')) {
    const match = /^\s+(?:-\w,)?--([a-z][a-z0-9-]*)/.exec(line);
    if (match) names.add(match[1]);
  }
  return names;
}

// Command-line-only flags: they act on the invocation and cannot be set in a file.
const CLI_ONLY = new Set(['help', 'version', 'config', 'check-config']);

let root;  // the scratch root the hub package is installed into with dpkg --root
let nudged;
let exampleConfig;

before(async () => {
  root = join(scratch, 'root');
  for (const dir of ['var/lib/dpkg/updates', 'var/lib/dpkg/info']) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  nudged = join(root, 'usr/bin/nudged');
  exampleConfig = join(root, 'etc/nudge/nudged.toml');
});

after(() => rmSync(scratch, { recursive: true, force: true }));

test('the nudge .deb lists nudged, nudge, the unit and the example config; the config files are conffiles', async () => {
  const deb = debFile('nudge');
  const { size } = statSync(deb);
  const { stdout } = await run('dpkg-deb', ['-c', deb]);
  const entries = new Map(stdout.trim().split('\n').map((line) => {
    const fields = line.split(/\s+/);
    return [fields[5], fields[0]];
  }));
  console.log(`# ${deb} (${size} bytes):\n${[...entries.keys()].map((p) => `#   ${p}`).join('\n')}`);
  for (const path of ['./usr/bin/nudged', './usr/bin/nudge', './usr/lib/systemd/system/nudged.service',
    './etc/nudge/nudged.toml', './etc/nudge/nudged.env', './usr/share/doc/nudge/copyright',
    './usr/share/doc/nudge/README.md', './usr/share/doc/nudge/docs/configuration.md',
    './usr/share/nudge/nudge.json', './usr/share/nudge/nudge-alerts.yml',
    './usr/bin/nudge-cdc', './usr/lib/systemd/system/nudge-cdc.service', './etc/nudge/cdc.toml',
    './etc/nudge/cdc-rules.toml', './etc/nudge/cdc.env',
    './usr/share/doc/nudge/docs/events-from-the-database.md']) {
    assert.ok(entries.has(path), `${path} in the package`);
  }
  assert.equal(entries.get('./usr/bin/nudged'), '-rwxr-xr-x');
  assert.equal(entries.get('./usr/bin/nudge-cdc'), '-rwxr-xr-x');
  assert.equal(entries.get('./etc/nudge/nudged.env'), '-rw-------', 'the secrets file is root-only');
  assert.equal(entries.get('./etc/nudge/cdc.env'), '-rw-------', 'the secrets file is root-only');

  const conffiles = (await run('dpkg-deb', ['-I', deb, 'conffiles'])).stdout.trim().split('\n');
  assert.deepEqual(conffiles.sort(), ['/etc/nudge/cdc-rules.toml', '/etc/nudge/cdc.env',
    '/etc/nudge/cdc.toml', '/etc/nudge/nudged.env', '/etc/nudge/nudged.toml']);
});

test('its dependencies, computed from the binaries, resolve on Debian 12 (apt simulation)', async () => {
  const deb = debFile('nudge');
  const depends = (await run('dpkg-deb', ['-f', deb, 'Depends'])).stdout.trim();
  for (const lib of ['libc6', 'libssl3', 'libspdlog', 'libboost-json']) assert.match(depends, new RegExp(lib));
  // --simulate changes nothing on this machine; it fails when a dependency cannot be met.
  const { stdout } = await run('apt-get', ['install', '--simulate', '--no-install-recommends', deb]);
  assert.match(stdout, /^Inst nudge /m);
});

test('dpkg installs it into a scratch root: files, conffiles, then remove and purge', async () => {
  const deb = debFile('nudge');
  // --force-script-chrootless runs the maintainer scripts here with DPKG_ROOT set (they only
  // touch $DPKG_ROOT); --force-depends: the scratch root's database has no libc6 etc.
  const dpkg = (...args) => run('dpkg', [`--root=${root}`, '--log=/dev/null', '--force-depends',
    '--force-script-chrootless', ...args]);
  await dpkg('-i', deb);
  const status = (await dpkg('-s', 'nudge')).stdout;
  assert.match(status, /^Status: install ok installed$/m);
  assert.match(status, /^Conffiles:\n \/etc\/nudge\/nudged\.toml [0-9a-f]{32}\n \/etc\/nudge\/nudged\.env [0-9a-f]{32}/m);
  const listed = (await dpkg('-L', 'nudge')).stdout.split('\n');
  for (const path of ['/usr/bin/nudged', '/usr/bin/nudge', '/usr/lib/systemd/system/nudged.service', '/etc/nudge/nudged.toml']) {
    assert.ok(listed.includes(path), path);
    assert.ok(existsSync(join(root, path)), `${path} in the scratch root`);
  }
  assert.equal(statSync(join(root, 'etc/nudge/nudged.env')).mode & 0o777, 0o600);
  assert.match(readFileSync(join(root, 'usr/share/doc/nudge/copyright'), 'utf8'), /^MIT License\n/);
  const { stdout: version } = await run(nudged, ['--version']);
  assert.match(version, /^nudged \d+\.\d+\.\d+/);

  // Remove keeps the (possibly edited) conffiles; purge deletes them. Then install again for
  // the tests below.
  await dpkg('-r', 'nudge');
  assert.ok(!existsSync(nudged));
  assert.ok(existsSync(exampleConfig), 'conffiles kept on remove');
  assert.match((await dpkg('-s', 'nudge')).stdout, /^Status: deinstall ok config-files$/m);
  await dpkg('--purge', 'nudge');
  assert.ok(!existsSync(exampleConfig), 'conffiles deleted on purge');
  await dpkg('-i', deb);
  assert.ok(existsSync(nudged));
});

test('the installed nudged --check-config passes on the installed example with secrets in the env file', async () => {
  // An operator fills in the shipped env file; systemd would read it the same way.
  const shipped = readFileSync(join(root, 'etc/nudge/nudged.env'), 'utf8');
  const filled = shipped
    .replace(/^#NUDGE_JWT_SECRET=$/m, `NUDGE_JWT_SECRET=${randomBytes(48).toString('base64')}`)
    .replace(/^#NUDGE_API_KEY=$/m, `NUDGE_API_KEY=${randomBytes(24).toString('hex')}`);
  const env = parseEnvFile(filled);
  assert.deepEqual(Object.keys(env).sort(), ['NUDGE_API_KEY', 'NUDGE_JWT_SECRET']);
  const { stdout } = await run(nudged, ['--config', exampleConfig, '--check-config'], { env: { ...process.env, ...env } });
  assert.match(stdout, /^nudged: configuration OK\n/);
  assert.match(stdout, /listen +127\.0\.0\.1:8080/);
  assert.match(stdout, /HS256 secret \(64 bytes\)/);
  assert.doesNotMatch(stdout, /warning/);
  assert.ok(!stdout.includes(env.NUDGE_JWT_SECRET) && !stdout.includes(env.NUDGE_API_KEY), 'no secret printed');
});

test('the installed nudged serves with the installed example config, as the unit starts it', async () => {
  const env = { ...process.env, NUDGE_JWT_SECRET: randomBytes(48).toString('base64'), NUDGE_API_KEY: 'installed-api-key-0123' };
  // The unit's ExecStart, plus --port 0 (a free port) for the test.
  const child = spawn(nudged, ['--config', exampleConfig, '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    let output = '';
    const url = await new Promise((resolve, reject) => {
      const onData = (chunk) => {
        output += chunk;
        const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(output);
        if (match) resolve(match[1]);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      exited.then((code) => reject(new Error(`installed nudged exited (${code}):\n${output}`)));
    });
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    const emitted = await fetch(`${url}/api/v1/emit`, {
      method: 'POST',
      headers: { authorization: 'Bearer installed-api-key-0123', 'content-type': 'application/json' },
      body: JSON.stringify({ room: 'user_1', event: 'e' }),
    });
    assert.equal(emitted.status, 202);
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
});

test('the installed nudged --check-config fails with the reason on a bad config', async () => {
  // As shipped, the env file sets nothing: the service must not start without secrets.
  const shippedEnv = parseEnvFile(readFileSync(join(root, 'etc/nudge/nudged.env'), 'utf8'));
  assert.deepEqual(shippedEnv, {});
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NUDGE_')));
  await assert.rejects(run(nudged, ['--config', exampleConfig, '--check-config'], { env: cleanEnv }), (error) => {
    assert.equal(error.code, 2);
    assert.match(error.stderr, /no key to verify client tokens: set --jwt-secret \(NUDGE_JWT_SECRET\).*deploy\/nudged\.env/);
    return true;
  });
  // An operator's typo in the file.
  const typo = join(scratch, 'typo.toml');
  writeFileSync(typo, `${readFileSync(exampleConfig, 'utf8')}\nmax_send_queue = 65536\n`);
  const env = { ...cleanEnv, NUDGE_JWT_SECRET: 'x'.repeat(32), NUDGE_API_KEY: 'k'.repeat(16) };
  await assert.rejects(run(nudged, ['--config', typo, '--check-config'], { env }), (error) => {
    assert.equal(error.code, 2);
    assert.match(error.stderr, /typo\.toml:\d+:1: max_send_queue: unknown setting \(did you mean max-send-queue\?\)/);
    return true;
  });
  // A value out of range.
  const range = join(scratch, 'range.toml');
  writeFileSync(range, 'max-send-queue = 12\n');
  await assert.rejects(run(nudged, ['--config', range, '--check-config'], { env }), (error) => {
    assert.equal(error.code, 2);
    assert.match(error.stderr, /range\.toml:1:18: --max-send-queue/);
    return true;
  });
});

test('the example config shows every setting of nudged --help, and each one, uncommented, is valid', async () => {
  const text = readFileSync(exampleConfig, 'utf8');
  const settings = new Map();
  for (const line of text.split('\n')) {
    const match = /^# ([a-z][a-z0-9-]*) = (.+)$/.exec(line);
    if (match) settings.set(match[1], match[2]);
  }
  const options = [...(await helpOptions(nudged))].filter((name) => !CLI_ONLY.has(name));
  assert.ok(options.length >= 20, `options parsed from --help: ${options}`);
  for (const name of options) assert.ok(settings.has(name), `the example config shows ${name}`);
  for (const name of settings.keys()) assert.ok(options.includes(name), `${name} is a setting nudged knows`);
  // Nothing is set by default: the installed file means the defaults.
  assert.doesNotMatch(text, /^[a-z]/m);

  // The public key and JWKS settings point at files or an IdP: use real ones in their place
  // (the JWKS CA setting: a test CA whose https server serves the JWKS).
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = join(scratch, 'jwt-public.pem');
  writeFileSync(pem, publicKey.export({ type: 'spki', format: 'pem' }));
  const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1' }] });
  const jwksFile = join(scratch, 'jwks.json');
  writeFileSync(jwksFile, jwks);
  const caKey = join(scratch, 'jwks-ca-key.pem');
  const caCert = join(scratch, 'jwks-ca.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', caKey, '-out', caCert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1']);
  const idp = createHttpsServer({ key: readFileSync(caKey), cert: readFileSync(caCert) }, (req, res) => res.end(jwks));
  idp.listen(0, '127.0.0.1');
  await once(idp, 'listening');
  const substitutes = {
    'jwt-public-key': pem, 'jwt-jwks': jwksFile, 'jwt-jwks-ca': caCert,
    // The state directory must exist (the package's unit has systemd make /var/lib/nudged).
    'state-dir': scratch,
    // The placeholders "<secret>" and "<key>" are too short to start with outside --dev.
    'jwt-secret': 'x'.repeat(32), 'api-key': 'k'.repeat(16),
  };
  try {
    for (const [name, value] of settings) {
      const file = join(scratch, `one-${name}.toml`);
      writeFileSync(file, `${name} = ${name in substitutes ? JSON.stringify(substitutes[name]) : value}\n`);
      const env = { ...process.env, NUDGE_API_KEY: 'k'.repeat(16) };
      const args = ['--config', file, '--check-config'];
      if (name === 'jwt-jwks-ca') args.push('--jwt-jwks', `https://127.0.0.1:${idp.address().port}/jwks.json`);
      else if (!['jwt-public-key', 'jwt-jwks'].includes(name)) env.NUDGE_JWT_SECRET = 'x'.repeat(32);
      const { stdout } = await run(nudged, args, { env });
      assert.match(stdout, /configuration OK/, name);
    }
  } finally {
    idp.close();
  }
});

// systemd-analyze --root needs the system's own units beside ours; copied once (a second copy
// over the first fails on the symlinked units, e.g. kmod.service).
let systemUnitsCopied = false;
function copySystemUnits() {
  if (systemUnitsCopied) return;
  cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, force: false });
  systemUnitsCopied = true;
}

test('systemd-analyze verify accepts the installed unit, which is hardened', async () => {
  const unitPath = join(root, 'usr/lib/systemd/system/nudged.service');
  const unit = readFileSync(unitPath, 'utf8');
  assert.match(unit, /^ExecStart=\/usr\/bin\/nudged --config \/etc\/nudge\/nudged\.toml$/m);
  assert.match(unit, /^EnvironmentFile=\/etc\/nudge\/nudged\.env$/m);
  for (const directive of ['DynamicUser=yes', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'Restart=on-failure',
    'ProtectHome=yes', 'PrivateTmp=yes', 'CapabilityBoundingSet=', 'SystemCallFilter=@system-service',
    'StateDirectory=nudged', 'Environment=NUDGE_STATE_DIR=%S/nudged']) {
    assert.match(unit, new RegExp(`^${directive}$`, 'm'), directive);
  }
  const nofile = Number(/^LimitNOFILE=(\d+)$/m.exec(unit)?.[1]);
  assert.ok(nofile >= 65536, `LimitNOFILE=${nofile}`);

  // The scratch root is a system with the package installed: give it this machine's own
  // systemd units (targets, slices) beside the package's, then verify there (--root), so the
  // unit's /usr/bin/nudged is the installed one.
  copySystemUnits();
  const verify = await run('systemd-analyze', [`--root=${root}`, '--man=no', 'verify', 'nudged.service']);
  // verify exits 0 on unknown keys and bad values too, reporting them on stderr.
  assert.equal(verify.stderr, '', `systemd-analyze verify reported:\n${verify.stderr}`);

  const { stdout } = await run('systemd-analyze', ['security', '--offline=yes', `--root=${root}`, 'nudged.service']);
  const exposure = Number(/Overall exposure level for nudged\.service: ([\d.]+)/.exec(stdout)?.[1]);
  console.log(`# systemd-analyze security: exposure ${exposure} (0 best, 10 worst)`);
  assert.ok(exposure <= 2, `exposure ${exposure}:\n${stdout}`);

  // A broken unit is caught by the same check (the check can fail).
  const broken = join(root, 'usr/lib/systemd/system/nudged-broken.service');
  writeFileSync(broken, unit.replace('ProtectSystem=strict', 'ProtectSystem=very'));
  const bad = await run('systemd-analyze', [`--root=${root}`, '--man=no', 'verify', 'nudged-broken.service']);
  assert.match(bad.stderr, /protect system value/i);
  rmSync(broken);
});

test('the nudge-cdc unit is installed, verified and hardened; its example config checks', async () => {
  const unit = readFileSync(join(root, 'usr/lib/systemd/system/nudge-cdc.service'), 'utf8');
  assert.match(unit, /^ExecStart=\/usr\/bin\/nudge-cdc --config \/etc\/nudge\/cdc\.toml$/m);
  assert.match(unit, /^EnvironmentFile=\/etc\/nudge\/cdc\.env$/m);
  assert.match(unit, /^RestartPreventExitStatus=2$/m);
  copySystemUnits();
  const verify = await run('systemd-analyze', [`--root=${root}`, '--man=no', 'verify', 'nudge-cdc.service']);
  assert.equal(verify.stderr, '', `systemd-analyze verify reported:\n${verify.stderr}`);
  const { stdout } = await run('systemd-analyze', ['security', '--offline=yes', `--root=${root}`, 'nudge-cdc.service']);
  const exposure = Number(/Overall exposure level for nudge-cdc\.service: ([\d.]+)/.exec(stdout)?.[1]);
  assert.ok(exposure <= 2, `exposure ${exposure}:\n${stdout}`);
  // The shipped config parses (every key is a flag); without a database the check stops
  // at the rules file, whose example is all comments: a clear exit 2.
  const cdc = join(root, 'usr/bin/nudge-cdc');
  const config = readFileSync(join(root, 'etc/nudge/cdc.toml'), 'utf8')
    .replace('/etc/nudge/cdc-rules.toml', join(root, 'etc/nudge/cdc-rules.toml'));
  const file = join(scratch, 'cdc.toml');
  writeFileSync(file, config);
  const checked = await run(cdc, ['--config', file, '--check-config'], {
    env: { ...process.env, NUDGE_CDC_POSTGRES: 'postgresql://x@127.0.0.1:1/x', NUDGE_CDC_API_KEY: 'k' },
  }).then(() => ({ code: 0, stderr: '' }), (error) => error);
  assert.equal(checked.code, 2);
  assert.match(checked.stderr, /^nudge-cdc: .*cdc-rules\.toml:1:1: no \[\[rule\]\] tables/);
});

test('cmake --install puts everything under the given prefix, the unit naming that prefix', async () => {
  const prefix = join(scratch, 'prefix');
  await run('cmake', ['--install', buildDir, '--prefix', prefix]);
  for (const path of ['bin/nudged', 'bin/nudge', 'etc/nudge/nudged.toml', 'etc/nudge/nudged.env',
    'lib/systemd/system/nudged.service', 'include/nudge/emitter.hpp', 'share/doc/nudge/copyright']) {
    assert.ok(existsSync(join(prefix, path)), path);
  }
  const unit = readFileSync(join(prefix, 'lib/systemd/system/nudged.service'), 'utf8');
  assert.match(unit, new RegExp(`^ExecStart=${prefix}/bin/nudged --config ${prefix}/etc/nudge/nudged\\.toml$`, 'm'));
  assert.equal(statSync(join(prefix, 'etc/nudge/nudged.env')).mode & 0o777, 0o600);
  assert.deepEqual(
    readFileSync(join(prefix, 'etc/nudge/nudged.toml')),
    readFileSync(join(repo, 'deploy/nudged.toml')),
  );
});

// The consumer project: find_package(nudge) + nudge::emitter, built against an installed tree,
// then run against a real hub to publish one event that a socket.io-client receives.
async function buildConsumerAndEmit(prefixPath, label) {
  const build = join(scratch, `consumer-${label}`);
  await run('cmake', ['-S', join(repo, 'tests/package/consumer'), '-B', build, '-G', 'Ninja',
    '-DCMAKE_BUILD_TYPE=Release', `-DCMAKE_PREFIX_PATH=${prefixPath}`]);
  const cache = readFileSync(join(build, 'CMakeCache.txt'), 'utf8');
  assert.match(cache, new RegExp(`^nudge_DIR:PATH=${prefixPath}/lib/`, 'm'), 'found the installed package');
  await run('cmake', ['--build', build]);

  const hub = await startHub({ args: ['--jwt-secret', 'consumer-secret-'.padEnd(32, 'x'), '--api-key', 'consumer-api-key-0123'], keys: false });
  try {
    const socket = await connected(seedClient(hub.url, mintToken({ secret: 'consumer-secret-'.padEnd(32, 'x'), sub: '42' })));
    const got = nextEvent(socket, 'balance_updated');
    const { stdout } = await run(join(build, 'consumer'), [hub.url, 'consumer-api-key-0123', '42', 'balance_updated', `{"via":"${label}"}`]);
    assert.equal(stdout.trim(), 'accepted 1');
    assert.deepEqual(await got, [{ via: label }]);
    socket.disconnect();
  } finally {
    await hub.stop();
  }
}

test('find_package(nudge): a consumer builds against cmake --install output and publishes to a hub', async () => {
  const prefix = join(scratch, 'prefix');
  assert.ok(existsSync(join(prefix, 'lib/cmake/nudge/nudgeConfig.cmake')), 'installed by the test above');
  await buildConsumerAndEmit(prefix, 'cmake-install');
});

test('find_package(nudge): a consumer builds against the libnudge-emitter-dev .deb', async () => {
  const deb = debFile('libnudge-emitter-dev');
  const { stdout } = await run('dpkg-deb', ['-c', deb]);
  for (const path of ['./usr/include/nudge/emitter.hpp', 'cmake/nudge/nudgeConfig.cmake', 'libnudge_emitter.a']) {
    assert.ok(stdout.includes(path), path);
  }
  const devRoot = join(scratch, 'dev-root');
  await run('dpkg', ['-x', deb, devRoot]);
  chmodSync(devRoot, 0o755);
  await buildConsumerAndEmit(join(devRoot, 'usr'), 'deb');
});

test('find_package(nudge): clients/cpp built and installed on its own, as its README says', async () => {
  const build = join(scratch, 'emitter-alone');
  const prefix = join(scratch, 'emitter-prefix');
  await run('cmake', ['-S', join(repo, 'clients/cpp'), '-B', build, '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release',
    '-DCMAKE_CXX_COMPILER_LAUNCHER=ccache']);
  await run('cmake', ['--build', build]);
  await run('cmake', ['--install', build, '--prefix', prefix]);
  await buildConsumerAndEmit(prefix, 'standalone');
});
