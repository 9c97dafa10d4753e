// Real QueryClients with observed queries whose fetches the test can count and time.
import { QueryClient, QueryObserver } from '@tanstack/query-core'

export const newClient = (): QueryClient =>
  new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } })

export interface Watched {
  /** How many times the query function ran. */
  readonly fetches: () => number
  /** How many of those fetches were aborted. */
  readonly aborts: () => number
  readonly data: () => unknown
  readonly stop: () => void
}

/**
 * Subscribes an observer (so the query is active) whose query function resolves after
 * `delayMs` with `value()` read when the fetch *starts*, as a server answering a request would.
 */
export const watch = (
  client: QueryClient,
  queryKey: readonly unknown[],
  { delayMs = 10, value = (n: number): unknown => n } = {},
): Watched => {
  let fetches = 0
  let aborts = 0
  const observer = new QueryObserver(client, {
    queryKey,
    queryFn: ({ signal }) => {
      const result = value(++fetches)
      signal.addEventListener('abort', () => aborts++)
      return new Promise((resolve) => setTimeout(() => resolve(result), delayMs))
    },
  })
  const stop = observer.subscribe(() => {})
  return {
    fetches: () => fetches,
    aborts: () => aborts,
    data: () => client.getQueryData(queryKey),
    stop,
  }
}

/** Puts a query with data in the cache without an observer (an inactive query). */
export const seed = async (client: QueryClient, queryKey: readonly unknown[]): Promise<() => number> => {
  let fetches = 0
  await client.prefetchQuery({ queryKey, queryFn: () => ++fetches })
  return () => fetches
}

/** Records every `invalidateQueries` call of a real client (it still runs). */
export const recordInvalidations = (client: QueryClient): Array<{ key: unknown; refetchType: unknown; at: number }> => {
  const calls: Array<{ key: unknown; refetchType: unknown; at: number }> = []
  const original = client.invalidateQueries.bind(client)
  client.invalidateQueries = ((filters, options) => {
    calls.push({ key: filters?.queryKey, refetchType: filters?.refetchType, at: Date.now() })
    return original(filters, options)
  }) as QueryClient['invalidateQueries']
  return calls
}
