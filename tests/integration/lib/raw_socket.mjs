// A raw Engine.IO/Socket.IO client over the `ws` package, for tests that must put exact
// packets on the wire (the real socket.io-client never sends malformed ones).
import WebSocket from 'ws';
import { SLOW } from './hub.mjs';

// Opens a WebSocket to the hub, answers Engine.IO pings, and collects text messages.
// `closed` resolves with the WebSocket close code.
export async function openRaw(hub) {
  const ws = new WebSocket(`${hub.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
  const messages = [];
  const waiters = [];
  ws.on('message', (data, binary) => {
    if (binary) return;
    const text = data.toString();
    if (text === '2') { ws.send('3'); return; }
    messages.push(text);
    for (const w of [...waiters]) w();
  });
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('error', () => {});
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const raw = {
    ws,
    messages,
    closed,
    isOpen: () => ws.readyState === WebSocket.OPEN,
    // Resolves with the first message (from now on or already received) that starts with prefix.
    next(prefix, timeoutMs = 3000 * SLOW) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const i = messages.findIndex((m) => m.startsWith(prefix));
          if (i < 0) return false;
          const [m] = messages.splice(i, 1);
          waiters.splice(waiters.indexOf(check), 1);
          clearTimeout(timer);
          resolve(m);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          reject(new Error(`no message starting with ${prefix} within ${timeoutMs} ms: ${JSON.stringify(messages)}`));
        }, timeoutMs);
        waiters.push(check);
        check();
      });
    },
  };
  await raw.next('0{');  // the Engine.IO open packet
  return raw;
}

// Resolves with the close code, or rejects if the connection is still open after timeoutMs.
export function closedWithin(raw, timeoutMs = 3000 * SLOW) {
  return Promise.race([
    raw.closed,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`still open after ${timeoutMs} ms`)), timeoutMs)),
  ]);
}
