// HTTP/1.1 framing on raw TCP (RFC 9112 §6.3): ambiguous framing is a 400 bad_framing and a
// close, decided before the body is read; other rejected requests get a JSON 400, not a
// silent close.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startHub, API_KEY, emit, SLOW } from './lib/hub.mjs';

let hub;
before(async () => { hub = await startHub(); });
after(async () => { await hub.stop(); });

// Writes `request`, then collects everything until the hub closes the connection.
function exchange(request) {
  return new Promise((resolve, reject) => {
    const socket = connect(hub.port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection still open after 5 s; got: ${JSON.stringify(data)}`));
    }, 5000 * SLOW);
    socket.on('data', (chunk) => { data += chunk; });
    socket.on('error', () => {});
    socket.on('close', () => { clearTimeout(timer); resolve(data); });
    socket.write(request);
  });
}

function parse(raw) {
  const [head, ...rest] = raw.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const body = rest.join('\r\n\r\n');
  let json;
  try { json = JSON.parse(body); } catch { json = undefined; }
  return { status, head, body, json, responses: (raw.match(/HTTP\/1\.1 \d{3}/g) ?? []).length };
}

const body = JSON.stringify({ room: 'user_x', event: 'e' });
const post = (headers, payload = body) =>
  `POST /api/v1/emit HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_KEY}\r\nContent-Type: application/json\r\n${headers}\r\n${payload}`;

for (const [name, headers, payload] of [
  ['Transfer-Encoding gzip with a Content-Length', `Transfer-Encoding: gzip\r\nContent-Length: ${body.length}\r\n`, body],
  ['Transfer-Encoding "chunked, identity" with a Content-Length', `Transfer-Encoding: chunked, identity\r\nContent-Length: ${body.length}\r\n`, body],
  ['Transfer-Encoding chunked with a Content-Length', `Transfer-Encoding: chunked\r\nContent-Length: 5\r\n`, `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`],
  ['Content-Length then Transfer-Encoding chunked', `Content-Length: 5\r\nTransfer-Encoding: chunked\r\n`, `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`],
  ['Transfer-Encoding gzip alone', 'Transfer-Encoding: gzip\r\n', body],
  ['Transfer-Encoding "chunked, identity" alone', 'Transfer-Encoding: chunked, identity\r\n', body],
  ['Transfer-Encoding chunked twice', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`],
]) {
  test(`${name}: 400 bad_framing and the connection closes`, async () => {
    // A second request pipelined behind it must not be answered: the connection is done.
    const r = parse(await exchange(post(headers, payload) + post(`Content-Length: ${body.length}\r\n`)));
    assert.equal(r.status, 400, r.head);
    assert.equal(r.json?.error?.code, 'bad_framing');
    assert.equal(typeof r.json?.error?.message, 'string');
    assert.match(r.head, /\r\nConnection: close/i);
    assert.equal(r.responses, 1);
  });
}

test('ambiguous framing is answered from the header alone, before any body byte arrives', async () => {
  const headersOnly = `POST /api/v1/emit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 100000\r\n\r\n`;
  const r = parse(await exchange(headersOnly));
  assert.equal(r.status, 400, r.head);
  assert.equal(r.json?.error?.code, 'bad_framing');
});

test('a chunked request alone is framed and accepted', async () => {
  const chunked = post('Transfer-Encoding: chunked\r\nConnection: close\r\n', `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
  const r = parse(await exchange(chunked));
  assert.equal(r.status, 202, r.head);
  assert.equal(r.json.accepted, 1);
});

for (const [name, request] of [
  ['a garbage request line', 'HELLO\r\n\r\n'],
  ['a header line without a colon', 'GET /healthz HTTP/1.1\r\nHost x\r\n\r\n'],
  ['a bad Content-Length', 'POST /api/v1/emit HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'],
  ['a bad chunk size', `POST /api/v1/emit HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_KEY}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${body}\r\n0\r\n\r\n`],
  ['an unsupported HTTP version', 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n'],
]) {
  test(`${name}: a JSON 400 and a close instead of a silent close`, async () => {
    const r = parse(await exchange(request));
    assert.equal(r.status, 400, JSON.stringify(r.head));
    assert.ok(['bad_request', 'bad_framing'].includes(r.json?.error?.code), r.body);
    assert.equal(typeof r.json?.error?.message, 'string');
  });
}

test('a client that connects and leaves without a request gets nothing (EOF)', async () => {
  const data = await new Promise((resolve) => {
    const socket = connect(hub.port, '127.0.0.1', () => socket.end());
    let got = '';
    socket.on('data', (chunk) => { got += chunk; });
    socket.on('close', () => resolve(got));
  });
  assert.equal(data, '');
  // And the hub serves on.
  assert.equal((await emit(hub, { room: 'user_x', event: 'e' })).status, 202);
});
