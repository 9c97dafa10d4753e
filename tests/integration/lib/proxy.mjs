// A TCP proxy in front of a hub whose "network" a test can cut: cut() destroys every connection
// through it and refuses new ones until restore(). Tests use it to drop a browser's socket
// without the browser knowing why, as a flaky network would.
import { createServer, connect } from 'node:net';
import { once } from 'node:events';

export async function cuttableProxy(target) {
  const { port } = new URL(target);
  const sockets = new Set();
  let down = false;
  const proxy = createServer((client) => {
    if (down) return client.destroy();
    const upstream = connect(Number(port), '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  return {
    url: `http://127.0.0.1:${proxy.address().port}`,
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore() { down = false; },
    close() {
      for (const s of sockets) s.destroy();
      proxy.close();
    },
  };
}
