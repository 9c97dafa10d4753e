// @nudge/query-core/fresh: a refetch is never older than the event that asked for it.
//
// The engine marks each query an event invalidates with the event's version (versions.ts). The
// app's `queryFn` fetches through `nudgeFetch` (or is made by `freshJson`), which asks the
// backend for data at least that new (`Nudge-Min-Version`, or `nudge_v=` in the URL for caches)
// and checks the answer's `Nudge-Version`. An answer older than required, or with no version
// but to a request that started before an event that came in while it ran, is not the answer:
// it is fetched again (after a backoff when it was old), a bounded number of times, and then
// the query fails with a `StaleResponseError` (its data stays the last good one, `isError` is
// true, the reason is the error's message, as devtools show it) — never shown as current.
//
// Contract: no state of its own (the marks belong to the queries); one `fetch` per attempt, its
// abort signal the query's; answers that are thrown away have their bodies cancelled.
import type { QueryClient, QueryKey } from '@tanstack/query-core'
import { compareVersions } from './meta.js'
import { markOf } from './versions.js'

export interface FreshOptions {
  /**
   * How the required version travels: `'header'` (default) sends `Nudge-Min-Version`; `'url'`
   * appends `nudge_v=<version>` to the URL, so a shared cache keys on it (safe to cache: the
   * URL names a state at least that new).
   */
  readonly mode?: 'header' | 'url'
  /** Requests per call before giving up with `StaleResponseError` (default 4). */
  readonly attempts?: number
  /** Wait before asking again after an old answer, doubling each time (default 100 ms). */
  readonly backoffMs?: number
  /** Default: the global `fetch`. */
  readonly fetch?: typeof fetch
}

/** What `nudgeFetch` needs of the query function's context. */
export interface FreshContext {
  readonly client: QueryClient
  readonly queryKey: QueryKey
  readonly signal?: AbortSignal
}

/** The backend kept answering with data older than the event that invalidated the query. */
export class StaleResponseError extends Error {
  override name = 'StaleResponseError'
  constructor(
    /** The version the query waits for. */
    readonly required: string | undefined,
    /** The last answer's `Nudge-Version` (null: the answer had none). */
    readonly received: string | null,
    readonly attempts: number,
  ) {
    super(
      `nudge: after ${attempts} requests the answer is still older than the event that invalidated this query (needs version ${required ?? '(any newer than its request)'}, got ${received ?? 'no Nudge-Version'}); the data shown is not current. Check the backend's fresh-data middleware (docs/fresh-data.md)`,
    )
  }
}

/** `true` for the error a query fails with when it could not get an answer as new as its event. */
export const isStaleResponse = (error: unknown): error is StaleResponseError =>
  error instanceof StaleResponseError

const withVersion = (input: string, version: string): string => {
  const hash = input.indexOf('#')
  const [path, fragment] = hash < 0 ? [input, ''] : [input.slice(0, hash), input.slice(hash)]
  return `${path}${path.includes('?') ? '&' : '?'}nudge_v=${encodeURIComponent(version)}${fragment}`
}

const sleep = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(timer)
      reject(signal.reason)
    }, { once: true })
  })

/**
 * `fetch` for a query function: pass the query function's context first. Returns the first
 * answer at least as new as every event that invalidated the query (answers of any status:
 * checking `ok` stays the app's job).
 */
export const nudgeFetch = async (
  context: FreshContext,
  input: string,
  init: RequestInit = {},
  options: FreshOptions = {},
): Promise<Response> => {
  const { client, queryKey, signal } = context
  const attempts = Math.max(1, options.attempts ?? 4)
  const doFetch = options.fetch ?? fetch
  const query = () => client.getQueryCache().find({ queryKey, exact: true })
  let received: string | null = null
  let required: string | undefined
  for (let attempt = 1; ; attempt++) {
    const before = markOf(query())
    required = before?.version
    const headers = new Headers(init.headers)
    let url = input
    if (required !== undefined) {
      if (options.mode === 'url') url = withVersion(input, required)
      else headers.set('Nudge-Min-Version', required)
    }
    const response = await doFetch(url, { ...init, headers, ...(signal ? { signal } : null) })
    received = response.headers.get('Nudge-Version')
    // Events may have come in while the request ran: the answer is judged against them too.
    const after = markOf(query())
    required = after?.version
    const overtaken = (after?.seq ?? 0) !== (before?.seq ?? 0)
    const old =
      required !== undefined && received !== null && compareVersions(received, required) < 0
    // Without a version to compare, only an answer to a request sent after the event will do.
    const unverifiable = overtaken && (received === null || required === undefined)
    if (!old && !unverifiable) return response
    await response.body?.cancel().catch(() => {})
    if (attempt >= attempts) throw new StaleResponseError(required, received, attempt)
    if (old) await sleep((options.backoffMs ?? 100) * 2 ** (attempt - 1), signal)
  }
}

/**
 * A query function that fetches `input` through `nudgeFetch` and returns its JSON; a status
 * outside 200–299 fails the query with an error naming the URL and the status.
 */
export const freshJson =
  <T = unknown>(input: string, init?: RequestInit, options?: FreshOptions) =>
  async (context: FreshContext): Promise<T> => {
    const response = await nudgeFetch(context, input, init, options)
    if (!response.ok) throw new Error(`nudge: ${init?.method ?? 'GET'} ${input} answered ${response.status}`)
    return (await response.json()) as T
  }
