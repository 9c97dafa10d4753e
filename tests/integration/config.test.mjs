// Configuration through its real interfaces: flags, NUDGE_* environment, TOML file, key files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { io } from 'socket.io-client';
import {
  NUDGED_BIN, startHub, seedClient, connected, connectError, emit, nextEvent, mintToken, token, SECRET, API_KEY,
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
  writeFileSync(file, 'jwt-secret = "from-toml-at-least-32-bytes-long"\napi-key = "toml-api-key-0123"\nuser-room = "member:{id}"\n');
  const hub = await startHub({ keys: false, args: ['--config', file] });
  try {
    const socket = await connected(seedClient(hub.url, mintToken({ secret: 'from-toml-at-least-32-bytes-long', sub: '5' })));
    const got = nextEvent(socket, 'hello');
    assert.equal((await emit(hub, { room: 'member:5', event: 'hello' }, { apiKey: 'toml-api-key-0123' })).status, 202);
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
  await assert.rejects(run(NUDGED_BIN, ['--jwt-public-key', garbage, '--api-key', API_KEY]), (error) => {
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
  const { stdout } = await checkConfig(['--config', file], { NUDGE_JWT_SECRET: secret, NUDGE_API_KEY: 'env-api-key-0123' });
  assert.match(stdout, /^nudged: configuration OK\n/);
  assert.match(stdout, /listen +0\.0\.0\.0:8443/);
  assert.match(stdout, /HS256 secret \(48 bytes\)/);
  assert.match(stdout, /drain 10s/);
  assert.ok(!stdout.includes(secret) && !stdout.includes('env-api-key-0123'), stdout);
  assert.doesNotMatch(stdout, /warning/);
});

test('--check-config validates a public key file', async () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = join(dir, 'check.pem');
  writeFileSync(pem, publicKey.export({ type: 'spki', format: 'pem' }));
  const { stdout } = await checkConfig(['--jwt-public-key', pem, '--api-key', API_KEY]);
  assert.match(stdout, /public key/);
  const garbage = join(dir, 'check-garbage.pem');
  writeFileSync(garbage, 'not a key');
  await assert.rejects(checkConfig(['--jwt-public-key', garbage, '--api-key', API_KEY]), (error) => {
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
  cases.push([['--config', typo], /typo\.toml:3:1: max_body: unknown setting \(did you mean max-body\?\)/]);
  const sectioned = join(dir, 'sectioned.toml');
  writeFileSync(sectioned, '[auth]\njwt-secret = "s"\n');
  cases.push([['--dev', '--config', sectioned], /sectioned\.toml:1:2: \[auth\]: unknown section/]);
  for (const [args, message] of cases) {
    await assert.rejects(checkConfig(args), (error) => {
      assert.equal(error.code, 2, args.join(' '));
      assert.match(error.stderr, message);
      assert.equal(error.stdout, '');
      return true;
    });
  }
});

// Outside --dev a guessable secret or key is refused at start, and by --check-config; --dev
// takes anything.
test('a short HS256 secret or API key is refused outside --dev, naming the setting and the fix', async () => {
  const cases = [
    [['--jwt-secret', 'abc', '--api-key', API_KEY], /^nudged: --jwt-secret: too short: 3 bytes, an HS256 secret needs at least 32 random bytes; make one with `openssl rand -base64 48`/],
    [['--jwt-secret', SECRET, '--api-key', 'k'], /^nudged: --api-key: too short: 1 bytes, an API key needs at least 16; make one with `openssl rand -base64 32`/],
  ];
  for (const [args, message] of cases) {
    for (const extra of [[], ['--check-config']]) {
      await assert.rejects(run(NUDGED_BIN, [...extra, ...args]), (error) => {
        assert.equal(error.code, 2, [...extra, ...args].join(' '));
        assert.match(error.stderr, message);
        assert.equal(error.stdout, '');
        return true;
      });
    }
  }
  // From the environment too (the systemd unit's nudged.env).
  await assert.rejects(checkConfig([], { NUDGE_JWT_SECRET: 'x'.repeat(31), NUDGE_API_KEY: API_KEY }), (error) => {
    assert.equal(error.code, 2);
    assert.match(error.stderr, /--jwt-secret: too short: 31 bytes/);
    return true;
  });
  const { stdout } = await checkConfig(['--dev', '--jwt-secret', 'abc', '--api-key', 'k']);
  assert.match(stdout, /warning: the JWT secret is 3 bytes/);
});

test('no secret at all: the message names NUDGE_JWT_SECRET and nudged.env', async () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('NUDGE_')));
  await assert.rejects(run(NUDGED_BIN, ['--api-key', API_KEY], { env }), (error) => {
    assert.equal(error.code, 2);
    assert.match(error.stderr, /^nudged: --jwt-secret: no key to verify client tokens: set --jwt-secret \(NUDGE_JWT_SECRET\)/);
    assert.match(error.stderr, /\/etc\/nudge\/nudged\.env, whose template is deploy\/nudged\.env/);
    assert.match(error.stderr, /openssl rand -base64 48/);
    return true;
  });
});

// The --config file is TOML, parsed as such: errors stop the hub with file:line:column.
test('invalid TOML, a wrong type or an unknown key: exit 2 with file:line:column and the key', async () => {
  const cases = [
    ['bare.toml', `port = 8080\njwt-secret = abc\napi-key = "${API_KEY}"\n`, /^nudged: \S*bare\.toml:2:14: invalid TOML: /],
    ['unterminated.toml', `api-key = "${API_KEY}"\njwt-secret = "abc\nport = 1\n`, /^nudged: \S*unterminated\.toml:2:\d+: invalid TOML: .*string/],
    ['type.toml', `jwt-secret = "${SECRET}"\napi-key = "${API_KEY}"\nport = "8080"\n`, /^nudged: \S*type\.toml:3:8: port: expected an integer, not a string/],
    ['flag.toml', `jwt-secret = "${SECRET}"\napi-key = "${API_KEY}"\nlog-json = "yes"\n`, /^nudged: \S*flag\.toml:3:12: log-json: expected true or false, not a string/],
    ['unknown.toml', `jwt-secret = "${SECRET}"\napi-key = "${API_KEY}"\nprot = 8080\n`, /^nudged: \S*unknown\.toml:3:1: prot: unknown setting \(did you mean port\?\)/],
    ['range.toml', `jwt-secret = "${SECRET}"\napi-key = "${API_KEY}"\n\nmax-body = 1\n`, /^nudged: \S*range\.toml:4:12: --max-body: /],
    ['short.toml', `jwt-secret = "abc"\napi-key = "${API_KEY}"\n`, /^nudged: \S*short\.toml:1:14: --jwt-secret: too short: 3 bytes/],
  ];
  for (const [name, text, message] of cases) {
    const file = join(dir, name);
    writeFileSync(file, text);
    for (const extra of [[], ['--check-config']]) {
      await assert.rejects(run(NUDGED_BIN, [...extra, '--config', file]), (error) => {
        assert.equal(error.code, 2, `${name} ${extra}`);
        assert.match(error.stderr, message, name);
        return true;
      });
    }
  }
  // A flag given on the command line is not blamed on the file.
  const file = join(dir, 'fine.toml');
  writeFileSync(file, `jwt-secret = "${SECRET}"\napi-key = "${API_KEY}"\nmax-body = 100\n`);
  await assert.rejects(run(NUDGED_BIN, ['--config', file, '--max-body', '1']), (error) => {
    assert.equal(error.code, 2);
    assert.match(error.stderr, /^nudged: --max-body: /);
    return true;
  });
});

test('the shipped deploy/nudged.toml loads, commented as shipped and with every line uncommented', async () => {
  const shipped = fileURLToPath(new URL('../../deploy/nudged.toml', import.meta.url));
  const env = { NUDGE_JWT_SECRET: SECRET, NUDGE_API_KEY: API_KEY };
  const { stdout } = await checkConfig(['--config', shipped], env);
  assert.match(stdout, /^nudged: configuration OK\n/);
  // Each `# key = value` line, uncommented on its own, is valid TOML of the right type (the
  // placeholders for files and secrets replaced with real values).
  // The state directory must exist: a scratch one stands in for /var/lib/nudged.
  const values = { 'jwt-secret': `"${SECRET}"`, 'api-key': `"${API_KEY}"`, 'state-dir': JSON.stringify(dir) };
  const skip = new Set(['jwt-public-key', 'jwt-jwks', 'jwt-jwks-ca', 'subscribe-hook', 'broker']);
  let checked = 0;
  for (const line of readFileSync(shipped, 'utf8').split('\n')) {
    const match = /^# ([a-z][a-z0-9-]*) = (.+)$/.exec(line);
    if (!match || skip.has(match[1])) continue;
    const file = join(dir, `shipped-${match[1]}.toml`);
    writeFileSync(file, `${match[1]} = ${values[match[1]] ?? match[2]}\n`);
    const { stdout: one } = await checkConfig(['--config', file], env);
    assert.match(one, /configuration OK/, line);
    checked += 1;
  }
  assert.ok(checked >= 40, `checked ${checked} settings`);
});
