// Configuration through its real interfaces: flags, NUDGE_* environment, TOML file, key files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { io } from 'socket.io-client';
import {
  NUDGED_BIN, startHub, seedClient, connected, connectError, emit, nextEvent, mintToken, token, SECRET,
} from './lib/hub.mjs';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'nudge-config-'));
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');

test('--help lists the flags and exits 0', async () => {
  const { stdout } = await run(NUDGED_BIN, ['--help']);
  for (const flag of ['--jwt-secret', '--jwt-public-key', '--api-key', '--max-body', '--config', '--log-json', '--user-room']) {
    assert.ok(stdout.includes(flag), flag);
  }
});

test('a bad value exits 2 with a message naming the flag', async () => {
  await assert.rejects(run(NUDGED_BIN, ['--dev', '--port', 'eighty']), (error) => {
    assert.equal(error.code, 2);
    assert.match(error.stderr, /--port/);
    return true;
  });
  await assert.rejects(run(NUDGED_BIN, ['--jwt-secret', 's']), (error) => {
    assert.equal(error.code, 2);
    assert.match(error.stderr, /--api-key/);
    return true;
  });
});

test('a TOML --config file configures the hub', async () => {
  const file = join(dir, 'nudge.toml');
  writeFileSync(file, 'jwt-secret = "from-toml"\napi-key = "toml-key"\nuser-room = "member:{id}"\n');
  const hub = await startHub({ keys: false, args: ['--config', file] });
  try {
    const socket = await connected(seedClient(hub.url, mintToken({ secret: 'from-toml', sub: '5' })));
    const got = nextEvent(socket, 'hello');
    assert.equal((await emit(hub, { room: 'member:5', event: 'hello' }, { apiKey: 'toml-key' })).status, 202);
    await got;
    socket.disconnect();
  } finally {
    await hub.stop();
  }
});

test('NUDGE_* environment variables configure the hub', async () => {
  const hub = await startHub({
    keys: false,
    env: { NUDGE_JWT_SECRET: SECRET, NUDGE_API_KEY: 'integration-api-key', NUDGE_USER_ROOM: 'env_{id}', NUDGE_MAX_BODY: '100' },
  });
  try {
    const socket = await connected(seedClient(hub.url, token('9')));
    const got = nextEvent(socket, 'from_env');
    assert.equal((await emit(hub, { room: 'env_9', event: 'from_env' })).status, 202);
    await got;
    assert.equal((await emit(hub, { room: 'env_9', event: 'e', data: 'x'.repeat(200) })).status, 413);
    socket.disconnect();
  } finally {
    await hub.stop();
  }
});

function jwt(header, payload, privateKey, options = {}) {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, ...options });
  return `${input}.${signature.toString('base64url')}`;
}

for (const [alg, keyType, keyOptions, signOptions] of [
  ['RS256', 'rsa', { modulusLength: 2048 }, {}],
  ['ES256', 'ec', { namedCurve: 'P-256' }, { dsaEncoding: 'ieee-p1363' }],
]) {
  test(`${alg} tokens verify against --jwt-public-key, with issuer and audience`, async () => {
    const { publicKey, privateKey } = generateKeyPairSync(keyType, keyOptions);
    const pem = join(dir, `${alg}.pem`);
    writeFileSync(pem, publicKey.export({ type: 'spki', format: 'pem' }));
    const { url, stop, port } = await startHub({
      keys: false,
      args: ['--api-key', 'integration-api-key', '--jwt-public-key', pem, '--jwt-issuer', 'bank', '--jwt-audience', 'web'],
    });
    const hub = { url, port };
    const exp = Math.floor(Date.now() / 1000) + 60;
    const claims = { sub: 'k1', iss: 'bank', aud: ['web', 'mobile'], exp };
    try {
      const ok = await connected(io(url, { auth: { token: jwt({ alg, typ: 'JWT' }, claims, privateKey, signOptions) }, transports: ['websocket'] }));
      const got = nextEvent(ok, 'signed');
      await emit(hub, { room: 'user_k1', event: 'signed' });
      await got;
      ok.disconnect();

      const refuse = async (authToken) => {
        const s = io(url, { auth: { token: authToken }, transports: ['websocket'], reconnection: false });
        const error = await connectError(s);
        s.disconnect();
        return error.data.reason;
      };
      assert.equal(await refuse(jwt({ alg, typ: 'JWT' }, { ...claims, iss: 'other' }, privateKey, signOptions)), 'bad_issuer');
      assert.equal(await refuse(jwt({ alg, typ: 'JWT' }, { ...claims, aud: 'mobile' }, privateKey, signOptions)), 'bad_audience');
      // An HS256 token whose HMAC key is the public key PEM: the confusion attack.
      const pemText = publicKey.export({ type: 'spki', format: 'pem' });
      assert.equal(await refuse(mintToken({ secret: pemText, sub: 'k1', iss: 'bank', aud: 'web' })), 'algorithm_not_allowed');
      const other = generateKeyPairSync(keyType, keyOptions).privateKey;
      assert.equal(await refuse(jwt({ alg, typ: 'JWT' }, claims, other, signOptions)), 'bad_signature');
    } finally {
      await stop();
    }
  });
}

test('an unreadable --jwt-public-key fails at start with a clear message', async () => {
  await assert.rejects(run(NUDGED_BIN, ['--jwt-public-key', join(dir, 'missing.pem'), '--api-key', 'k']), (error) => {
    assert.equal(error.code, 2);
    assert.match(error.stderr, /cannot read/);
    return true;
  });
  const garbage = join(dir, 'garbage.pem');
  writeFileSync(garbage, 'not a key');
  await assert.rejects(run(NUDGED_BIN, ['--jwt-public-key', garbage, '--api-key', 'k']), (error) => {
    assert.equal(error.code, 2);
    assert.match(error.stdout + error.stderr, /invalid JWT configuration: cannot parse public key PEM/);
    return true;
  });
});


test('the connection-layer flags are listed, and --threads past the metrics cells is refused', async () => {
  const { stdout } = await run(NUDGED_BIN, ['--help']);
  for (const flag of ['--jwt-leeway', '--metrics-host', '--metrics-port', '--api-auth-backoff', '--api-auth-backoff-seconds']) {
    assert.ok(stdout.includes(flag), flag);
  }
  await assert.rejects(run(NUDGED_BIN, ['--dev', '--threads', '64']), (error) => {
    assert.equal(error.code, 2);
    assert.match(error.stderr, /--threads/);
    return true;
  });
});
// --check-config: the same parsing and checks as a start, then a summary and exit.
const checkConfig = (args, env = {}) =>
  run(NUDGED_BIN, ['--check-config', ...args], { env: { ...process.env, ...env } });

test('--check-config passes on a valid config (file + environment) and prints a summary without secrets', async () => {
  const file = join(dir, 'check.toml');
  writeFileSync(file, '# production-like\nhost = "0.0.0.0"\nport = 8443\ndrain-seconds = 10\nlog-json = true\n');
  const secret = 'x'.repeat(48);
  const { stdout } = await checkConfig(['--config', file], { NUDGE_JWT_SECRET: secret, NUDGE_API_KEY: 'env-api-key' });
  assert.match(stdout, /^nudged: configuration OK\n/);
  assert.match(stdout, /listen +0\.0\.0\.0:8443/);
  assert.match(stdout, /HS256 secret \(48 bytes\)/);
  assert.match(stdout, /drain 10s/);
  assert.ok(!stdout.includes(secret) && !stdout.includes('env-api-key'), stdout);
  assert.doesNotMatch(stdout, /warning/);
});

test('--check-config validates a public key file', async () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = join(dir, 'check.pem');
  writeFileSync(pem, publicKey.export({ type: 'spki', format: 'pem' }));
  const { stdout } = await checkConfig(['--jwt-public-key', pem, '--api-key', 'k']);
  assert.match(stdout, /public key/);
  const garbage = join(dir, 'check-garbage.pem');
  writeFileSync(garbage, 'not a key');
  await assert.rejects(checkConfig(['--jwt-public-key', garbage, '--api-key', 'k']), (error) => {
    assert.equal(error.code, 2);
    assert.match(error.stderr, /invalid JWT configuration: cannot parse public key PEM/);
    return true;
  });
});

test('--check-config fails with the reason on a bad config', async () => {
  const cases = [
    [['--config', join(dir, 'absent.toml')], /absent\.toml was not readable/],
    [['--dev', '--port', '70000'], /--port/],
    [['--jwt-secret', 's'], /--api-key: required/],
    [['--dev', '--host', 'example.org'], /--host: not an IP address: example\.org/],
  ];
  const typo = join(dir, 'typo.toml');
  writeFileSync(typo, 'jwt-secret = "s"\napi-key = "k"\nmax_body = 10\n');
  cases.push([['--config', typo], /--config: unknown setting 'max_body'/]);
  const sectioned = join(dir, 'sectioned.toml');
  writeFileSync(sectioned, '[auth]\njwt-secret = "s"\n');
  cases.push([['--dev', '--config', sectioned], /--config: unknown section \[auth\]/]);
  for (const [args, message] of cases) {
    await assert.rejects(checkConfig(args), (error) => {
      assert.equal(error.code, 2, args.join(' '));
      assert.match(error.stderr, message);
      assert.equal(error.stdout, '');
      return true;
    });
  }
});
