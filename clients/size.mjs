// Size budget of one @nudge client package, run by its build after `tsc` has written dist/
// (`node ../size.mjs` from the package's directory). Shared by every package so that they all
// measure the same way: each entry point of the package's `exports`, then all of them together,
// minified and gzipped by esbuild, with the peer dependencies (the framework, TanStack Query,
// socket.io-client: the app owns them) left out.
//
// package.json's "nudgeSize" sets the budgets, in bytes min+gzip:
//   budget     all entries together, the @nudge/* dependencies (the core) bundled in: what an
//              app pays for nudge in total.
//   ownBudget  optional: all entries with the @nudge/* dependencies left out, i.e. the binding's
//              own code on top of the core.
//   entryBudgets optional: { "<entry>": bytes } for single entry points, e.g. the core's "."
//              alone, which is what an app pays when it imports no other entry.
import { build } from 'esbuild'
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'

const root = process.cwd()
const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'))
const { budget, ownBudget, entryBudgets = {} } = pkg.nudgeSize ?? {}
if (!Number.isInteger(budget)) {
  console.error(`size.mjs: ${pkg.name}'s package.json has no "nudgeSize": { "budget": <bytes> }; add one`)
  process.exit(2)
}
const peers = Object.keys(pkg.peerDependencies ?? {})
const ours = Object.keys(pkg.dependencies ?? {}).filter((name) => name.startsWith('@nudge/'))
const withSubpaths = (names) => names.flatMap((name) => [name, `${name}/*`])

const measure = async (contents, external) => {
  const result = await build({
    stdin: { contents, resolveDir: root, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    external: withSubpaths(external),
    logLevel: 'silent',
  })
  const code = result.outputFiles[0].contents
  return { min: code.length, gzip: gzipSync(code, { level: 9 }).length }
}

const entries = Object.entries(pkg.exports).map(([path, target]) => [path, target.import])
const all = entries.map(([, file]) => `export * from '${file}';`).join(' ')
const rows = entries.map(([path, file]) => [`${path}`, `export * from '${file}'`, peers])
if (entries.length > 1) rows.push(['all entries', all, peers])
if (ours.length > 0) rows.push(['own code', all, [...peers, ...ours]])

const print = (name, { min, gzip }) =>
  console.log(`${pkg.name} ${name.padEnd(12)} ${String(min).padStart(6)} B min  ${String(gzip).padStart(5)} B min+gzip`)
const results = new Map()
for (const [name, contents, external] of rows) {
  const size = await measure(contents, external)
  results.set(name, size)
  print(name, size)
}

const total = results.get(entries.length > 1 ? 'all entries' : entries[0][0]).gzip
const own = results.get('own code')?.gzip
const over = []
if (total > budget) over.push(`${total} B > ${budget} B min+gzip in total`)
for (const [entry, limit] of Object.entries(entryBudgets)) {
  const size = results.get(entry)?.gzip
  if (size === undefined) over.push(`no entry "${entry}" to check against its budget`)
  else if (size > limit) over.push(`its entry "${entry}" ${size} B > ${limit} B min+gzip`)
}
if (ownBudget !== undefined && own !== undefined && own > ownBudget) {
  over.push(`its own code ${own} B > ${ownBudget} B min+gzip`)
}
if (over.length > 0) {
  console.error(`size.mjs: ${pkg.name} is over its size budget: ${over.join('; ')}. Make it smaller, or raise "nudgeSize" in its package.json with the reason in the commit message`)
  process.exit(1)
}
console.log(`${pkg.name} size budget ok: ${total} B <= ${budget} B min+gzip${own === undefined ? '' : `, own code ${own} B${ownBudget === undefined ? '' : ` <= ${ownBudget} B`}`}`)
