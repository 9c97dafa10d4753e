// Fresh reads for Node (Express or plain node:http): a refetch is never older than the event
// that asked for it (docs/fresh-data.md).
//
// A browser that got an event at version V refetches with `Nudge-Min-Version: V` (or
// `?nudge_v=V` in the version-keyed URL mode). `freshReads` asks the replica how far it has
// applied (your `replicaPosition` hook; Postgres: `pg_last_wal_replay_lsn()`), waits for it to
// reach V up to `timeoutMs`, and past that sends the request's reads to the primary. The
// routing is a hook too: your data layer asks `freshRead(req)` (or `currentFreshRead()` inside
// the request) which database to read from. Every answer carries `Nudge-Version` (the position
// taken before the handler ran, so the data is at least that new), `Vary: Nudge-Min-Version`
// and `Server-Timing: nudge;dur=<ms>;desc="<db>[, waited]"`; answers to version-keyed URLs get `Cache-Control: max-age` unless
// the handler sets its own. Requests that change data (not GET/HEAD/OPTIONS) read from the
// primary. A malformed version is a 400 `invalid_field` naming where it came from.
import { AsyncLocalStorage } from 'node:async_hooks'
import type { IncomingMessage, ServerResponse } from 'node:http'

export interface FreshReadsOptions {
  /**
   * How far the replica has applied, e.g. `SELECT pg_last_wal_replay_lsn()::text` on the
   * replica's pool; `null` when there is no replica (every read goes to the primary).
   */
  readonly replicaPosition: () => Promise<string | null>
  /** The primary's position, e.g. `SELECT pg_current_wal_lsn()::text` on the primary's pool. */
  readonly primaryPosition: () => Promise<string | null>
  /** Longest wait for the replica before reading from the primary (default 1000 ms). */
  readonly timeoutMs?: number
  /** Time between two looks at the replica's position (default 5 ms). */
  readonly pollMs?: number
  /** `max-age` of answers to version-keyed URLs without a Cache-Control of their own (default 60 s). */
  readonly cacheSeconds?: number
  /**
   * Requests that may wait for the replica at once (default 16): each one polls it every
   * `pollMs`, so past this a request reads from the primary at once.
   */
  readonly maxWaiting?: number
}

/** Where one request reads. */
export interface FreshRead {
  readonly db: 'replica' | 'primary'
  /** The position sent as `Nudge-Version` (null: the hook knew none). */
  readonly version: string | null
  /** The version the request asked for (the higher of the header and `nudge_v`), if any. */
  readonly minVersion: string | null
}

const reads = new WeakMap<IncomingMessage, FreshRead>()
const storage = new AsyncLocalStorage<FreshRead>()

/** Where `req` reads (set by `freshReads` before the handler runs). */
export const freshRead = (req: IncomingMessage): FreshRead | undefined => reads.get(req)

/** Where the request being handled reads, for data layers that do not see `req`. */
export const currentFreshRead = (): FreshRead | undefined => storage.getStore()

/** A version (Postgres LSN "H/L" or decimal digits) as one unsigned 64-bit number; throws on anything else. */
export const versionValue = (version: string): bigint => {
  const lsn = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(version)
  if (lsn) return (BigInt(`0x${lsn[1]}`) << 32n) + BigInt(`0x${lsn[2]}`)
  if (/^[0-9]{1,20}$/.test(version) && BigInt(version) < 1n << 64n) return BigInt(version)
  throw new TypeError(
    `${JSON.stringify(version)} is not a version (a Postgres LSN like 0/16B3748, or decimal digits below 2^64)`,
  )
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

const wanted = (req: IncomingMessage): { min: string | null; keyed: boolean } => {
  const header = req.headers['nudge-min-version']
  const param = new URL(req.url ?? '/', 'http://x').searchParams.get('nudge_v')
  let min: string | null = null
  for (const [source, raw] of [
    ['Nudge-Min-Version', Array.isArray(header) ? header.join(',') : header],
    ['?nudge_v=', param],
  ] as const) {
    if (raw == null) continue
    const value = raw.trim()
    let number: bigint
    try {
      number = versionValue(value)
    } catch (error) {
      throw new Error(`nudge: ${source}: ${(error as Error).message}`)
    }
    if (min === null || number > versionValue(min)) min = value
  }
  return { min, keyed: param !== null }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const reached = (position: string | null, min: string): boolean =>
  position !== null && versionValue(position) >= versionValue(min)

const choose = async (
  o: FreshReadsOptions,
  min: string | null,
  safe: boolean,
  waiting: { count: number },
): Promise<Pick<FreshRead, 'db' | 'version'> & { waited: boolean }> => {
  const primary = async (waited = false) => ({
    db: 'primary' as const,
    version: await o.primaryPosition(),
    waited,
  })
  if (!safe) return primary()
  let position = await o.replicaPosition()
  if (position === null && min === null) return primary()
  if (min === null || reached(position, min))
    return { db: 'replica', version: position, waited: false }
  if (waiting.count >= (o.maxWaiting ?? 16)) return primary()
  waiting.count++
  try {
    const deadline = Date.now() + (o.timeoutMs ?? 1000)
    const poll = o.pollMs ?? 5
    while (Date.now() + poll < deadline) {
      await sleep(poll)
      position = await o.replicaPosition()
      if (reached(position, min)) return { db: 'replica', version: position, waited: true }
    }
  } finally {
    waiting.count--
  }
  return primary(true)
}

const appendVary = (res: ServerResponse, name: string): void => {
  const current = res.getHeader('Vary')
  const list = current === undefined ? [] : String(current).split(',').map((s) => s.trim())
  if (!list.some((v) => v.toLowerCase() === name.toLowerCase() || v === '*')) list.push(name)
  res.setHeader('Vary', list.filter(Boolean).join(', '))
}

/** Sets Cache-Control now (the handler may replace it) and takes it back from a non-2xx answer. */
const cacheable = (res: ServerResponse, value: string): void => {
  res.setHeader('Cache-Control', value)
  const writeHead = res.writeHead
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    const status = typeof args[0] === 'number' ? args[0] : this.statusCode
    if ((status < 200 || status > 299) && this.getHeader('Cache-Control') === value)
      this.removeHeader('Cache-Control')
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args)
  } as ServerResponse['writeHead']
}

/**
 * Middleware `(req, res, next)` for Express, Connect or a plain node:http handler: decides
 * where the request reads (see the module's note), sets the headers, then calls `next()`
 * inside the request's context. An error of a position hook goes to `next(error)`.
 */
export const freshReads = (options: FreshReadsOptions) => {
  /** Requests of this middleware waiting for the replica now (bounded by `maxWaiting`). */
  const waiting = { count: 0 }
  return (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void => {
    let asked: { min: string | null; keyed: boolean }
    try {
      asked = wanted(req)
    } catch (error) {
      res.statusCode = 400
      res.setHeader('Content-Type', 'application/json')
      res.end(
        JSON.stringify({
          error: {
            code: 'invalid_field',
            message: `${(error as Error).message}; send the version of the event as nudge delivered it, or nothing`,
          },
        }),
      )
      return
    }
    const started = performance.now()
    choose(options, asked.min, SAFE.has(req.method ?? 'GET'), waiting).then(
      ({ db, version, waited }) => {
        const read: FreshRead = { db, version, minVersion: asked.min }
        reads.set(req, read)
        if (version !== null) res.setHeader('Nudge-Version', version)
        appendVary(res, 'Nudge-Min-Version')
        // What choosing the database cost (reading the positions, waiting for the replica).
        const spent = (performance.now() - started).toFixed(2)
        res.setHeader('Server-Timing', `nudge;dur=${spent};desc="${db}${waited ? ', waited' : ''}"`)
        if (asked.keyed) cacheable(res, `max-age=${options.cacheSeconds ?? 60}`)
        storage.run(read, () => next())
      },
      (error: unknown) => next(error),
    )
  }
}
