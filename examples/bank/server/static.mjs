// Serves the built front end (vite build's output) from one directory; unknown paths that are
// not files get index.html, so a reload on any client route works.
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

export function createStatic(root) {
  const base = normalize(root + sep);
  return async function serveStatic(req, res, pathname) {
    let file;
    try {
      file = normalize(join(base, decodeURIComponent(pathname)));
    } catch {
      return false; // a malformed %-escape
    }
    if (!file.startsWith(base)) return false;
    const found = await stat(file).catch(() => null);
    if (!found?.isFile()) file = join(base, 'index.html');
    const body = await readFile(file).catch(() => null);
    if (!body) return false;
    // Vite fingerprints everything under assets/, so those may be cached for good.
    const immutable = file.startsWith(join(base, 'assets') + sep);
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
