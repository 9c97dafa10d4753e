// What each query's next answer must be at least as new as: the engine marks the queries an
// event invalidates when the event arrives (before coalescing), and the fetch helper of
// `@nudge/query-core/fresh` reads the mark when its request starts and again when the answer
// is in, so an answer to a request that started before the event never counts as its answer.
//
// Contract: marks live beside the Query objects (a WeakMap), so a query the cache drops takes
// its mark with it and the table needs no bound of its own. Internal module, shared by the two
// entry points (both import this one file, so they see one table).
import type { Query, QueryClient } from '@tanstack/query-core'
import { compareVersions } from './meta.js'
import type { QueryKeyLike } from './types.js'

export interface Mark {
  /** Events that invalidated the query so far (a request compares it before and after). */
  readonly seq: number
  /** The highest version among those events; undefined when none carried one. */
  readonly version: string | undefined
}

type AnyQuery = Query<unknown, Error, unknown, readonly unknown[]>

const marks = new WeakMap<AnyQuery, Mark>()

/** Marks every cached query under `key` (or exactly `key`) as invalidated by an event at `version`. */
export const markQueries = (
  client: QueryClient,
  key: QueryKeyLike,
  exact: boolean,
  version: string | undefined,
): void => {
  for (const query of client.getQueryCache().findAll({ queryKey: key, exact })) {
    const prev = marks.get(query)
    const kept = prev?.version
    const higher =
      version === undefined || (kept !== undefined && compareVersions(kept, version) >= 0)
        ? kept
        : version
    marks.set(query, { seq: (prev?.seq ?? 0) + 1, version: higher })
  }
}

/** The query's mark, or undefined when no event has invalidated it. */
export const markOf = (query: AnyQuery | undefined): Mark | undefined =>
  query && marks.get(query)
