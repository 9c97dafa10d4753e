// Size budget: the library itself (both entry points, without React, TanStack Query or
// socket.io-client) must stay under 4.5 KB minified and gzipped (4 KB until rooms and
// recovery-scoped resync came in). Run after `tsc` has built dist/.
import { build } from 'esbuild'
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'

const BUDGET = 4608
const root = fileURLToPath(new URL('..', import.meta.url))

const measure = async (contents) => {
  const result = await build({
    stdin: { contents, resolveDir: root, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    external: ['react', 'react/*', '@tanstack/*', 'socket.io-client'],
    logLevel: 'silent',
  })
  const code = result.outputFiles[0].contents
  return { min: code.length, gzip: gzipSync(code, { level: 9 }).length }
}

const rows = [
  ['core (.)', "export * from './dist/index.js'"],
  ['react (./react)', "export * from './dist/react.js'"],
  ['both', "export * from './dist/index.js'; export * from './dist/react.js'"],
]
let total = 0
for (const [name, contents] of rows) {
  const { min, gzip } = await measure(contents)
  console.log(`${name.padEnd(16)} ${String(min).padStart(6)} B min  ${String(gzip).padStart(5)} B min+gzip`)
  total = gzip
}
if (total > BUDGET) {
  console.error(`size budget exceeded: ${total} B > ${BUDGET} B min+gzip`)
  process.exit(1)
}
console.log(`size budget ok: ${total} B <= ${BUDGET} B min+gzip`)
