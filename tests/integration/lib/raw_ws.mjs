// A raw WebSocket client over node:net, for tests that must misbehave in ways no library
// allows: never read, flood, leave messages unfinished. Frames are built by hand (RFC 6455).
import { createConnection } from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

// A client frame: masked, FIN unless `fin: false`.
export function frame(opcode, payload = '', { fin = true } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const mask = randomBytes(4);
  let header;
  if (data.length < 126) {
    header = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | data.length]);
  } else if (data.length <= 0xffff) {
    header = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, data.length >> 8, data.length & 0xff]);
  } else {
    header = Buffer.alloc(10);
    header[0] = (fin ? 0x80 : 0) | opcode;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(data.length), 2);
  }
  const masked = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) masked[i] = data[i] ^ mask[i % 4];
  return Buffer.concat([header, mask, masked]);
}
export const text = (payload, options) => frame(0x1, payload, options);
export const ping = (payload = '') => frame(0x9, payload);

// Parses server frames (unmasked) from `buffer`; returns [frames, rest].
export function parseFrames(buffer) {
  const frames = [];
  let offset = 0;
  while (buffer.length - offset >= 2) {
    const b0 = buffer[offset];
    const len7 = buffer[offset + 1] & 0x7f;
    let header = 2;
    let length = len7;
    if (len7 === 126) {
      if (buffer.length - offset < 4) break;
      length = buffer.readUInt16BE(offset + 2);
      header = 4;
    } else if (len7 === 127) {
      if (buffer.length - offset < 10) break;
      length = Number(buffer.readBigUInt64BE(offset + 2));
      header = 10;
    }
    if (buffer.length - offset < header + length) break;
    frames.push({ opcode: b0 & 0x0f, fin: (b0 & 0x80) !== 0, payload: buffer.subarray(offset + header, offset + header + length) });
    offset += header + length;
  }
  return [frames, buffer.subarray(offset)];
}

export const closeCode = (f) => (f.payload.length >= 2 ? f.payload.readUInt16BE(0) : undefined);

// Opens a WebSocket to the hub's Engine.IO endpoint and resolves after the 101 answer.
// `received` accumulates every byte after the HTTP head (while the socket is read).
export async function rawConnect(hubUrl, { localAddress } = {}) {
  const { hostname, port } = new URL(hubUrl);
  const socket = createConnection({ host: hostname, port: Number(port), localAddress });
  await once(socket, 'connect');
  socket.write(
    'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n' +
      `Host: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const client = { socket, received: Buffer.alloc(0), ended: false, closed: false };
  let head = Buffer.alloc(0);
  await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      if (!head.subarray(0, end).toString().startsWith('HTTP/1.1 101')) {
        reject(new Error(`upgrade refused: ${head.toString()}`));
        return;
      }
      client.received = head.subarray(end + 4);
      socket.on('data', (more) => { client.received = Buffer.concat([client.received, more]); });
      resolve();
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  socket.on('end', () => { client.ended = true; });
  socket.on('close', () => { client.closed = true; });
  return client;
}

// Writes `chunk` and resolves once it is handed to the kernel, or false if the socket
// stays blocked (the hub stopped reading) for `ms`.
export function writeOrStall(socket, chunk, ms) {
  if (socket.destroyed) return Promise.resolve(false);
  if (socket.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => { socket.off('drain', onDrain); resolve(false); }, ms);
    const onDrain = () => { clearTimeout(timer); resolve(true); };
    socket.once('drain', onDrain);
  });
}

// The hub's resident memory in KiB (Linux /proc).
export function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}
