// The invalidation engine: turns events into `queryClient.invalidateQueries` calls.
//
// Contract: framework-free and socket-free (the callers feed it events), never throws to its
// caller (errors go to `onError`), and reads its options object at each use, so the React
// layer may update them in place. One engine serves one QueryClient.
//
// Three rules keep refetch storms down without ever losing an update:
// 1. Coalescing. Keys from events that arrive close together are merged (by hashed key and by
//    prefix) and invalidated once. The first event after a quiet period waits at most
//    `coalesceMs`; inside a continuous stream the batch is debounced by `coalesceMs` but never
//    held longer than `maxWaitMs`.
// 2. Refetch after settle. TanStack Query v5 either cancels and restarts a running fetch
//    (`cancelRefetch: true`, which thrashes under a stream of events) or, during a first load or
//    with `cancelRefetch: false`, joins it, and the success of that fetch clears the
//    invalidation even though the response may predate the event (TanStack/query#8530, #7963).
//    So a query that is fetching when its event is flushed is left alone and invalidated once
//    more when that fetch settles.
// 3. Hidden tabs only mark queries stale (`refetchType: 'none'`); focus refetching catches up.
// 4. Spread (issue 23). An event or resync with a window W (the hub's `{"$nudge":{"s":W}}`)
//    marks its keys stale at once, so a user action (focus, a newly mounted observer) still
//    fetches at once, and refetches them at this client's offset in [0, W) (spread.ts): 10,000
//    clients of one room reach the origin at W/10,000 intervals instead of all at once. At the
//    offset a query that fetched since the event is left alone, and a hidden tab only keeps the
//    mark (rule 3): it refetches when it becomes visible. The window starts when the hub took the
//    event ("t", `meta.sentAt`), not when it reached this client: a client reached late (a busy
//    device, a slow network) keeps its place instead of landing on the clients after it, and
//    one already past its place (reached late, or its timer ran late on a busy device) takes a
//    new one (spread.ts `latePlace`: in a grace of W/16 after the window, or in what is left of
//    it) instead of landing with every client late for the same reason. A lag outside [0, W)
//    is not trusted (a clock that disagrees with the hub's, a replay after a reconnect): the
//    window then starts at arrival.
import type { Query, QueryCacheNotifyEvent, QueryClient } from '@tanstack/query-core'
import { type Entry, hashKey, normalize, REFETCH_NAMES, toKey } from './keys.js'
import type { EventMeta } from './meta.js'
import { latePlace, spreadOffset, tabSeed } from './spread.js'
import { markQueries } from './versions.js'
import type {
  ErrorHandler,
  EventEntry,
  EventMap,
  KeyList,
  QueryKeyLike,
  RegisteredEvents,
} from './types.js'

export interface InvalidationOptions<E extends object = RegisteredEvents> {
  readonly queryClient: QueryClient
  /** `E` comes from `Register` or an explicit type argument, never inferred from the map. */
  readonly events: EventMap<NoInfer<E>>
  /** Coalescing window in ms (default 50); `0` invalidates at once. */
  readonly coalesceMs?: number
  /** Longest a continuous stream of events may hold back a batch, in ms (default 1000). */
  readonly maxWaitMs?: number
  /**
   * Server event that asks for a resync (default `'nudge:resync'`). nudged sends it, with the
   * rooms whose events were lost (`{ rooms: [...] }`), when a reconnect could not be recovered.
   */
  readonly resyncEvent?: string
  /**
   * The events your backend publishes to a room, so a resync naming rooms refetches only the
   * keys of those events. A room it returns `undefined` for (or no `roomEvents` at all) resyncs
   * every mapped key.
   */
  readonly roomEvents?: (room: string) => readonly string[] | undefined
  /**
   * What places this client in a spread window (see `spreadOffset`); default: a per-tab id kept
   * in sessionStorage, so a reload keeps its place, or a random one without storage.
   */
  readonly spreadSeed?: string
  /** Default: `document.visibilityState === 'hidden'` where there is a document. */
  readonly isHidden?: () => boolean
  /** Default: `console.error`. */
  readonly onError?: ErrorHandler
}

/** @internal */
export interface Invalidation {
  /** `meta`: the hub's metadata argument (`readEventArgs`): the event's version and spread window. */
  event(name: string, data: unknown, meta?: EventMeta): void
  /**
   * Invalidates every key the event map can produce (or only those of `names`), spread over
   * `spreadMs` when given.
   */
  resync(names?: ReadonlySet<string>, spreadMs?: number): void
  dispose(): void
}

interface Pending {
  readonly key: QueryKeyLike
  readonly hash: string
  readonly exact: boolean
  readonly mask: number
  /** Spread: queries whose fetch started at this event sequence number or later are fresh. */
  readonly since: number
}

type AnyQuery = Query<unknown, Error, unknown, readonly unknown[]>

export const reporter =
  (o: { readonly onError?: ErrorHandler }) =>
  (error: unknown): void => {
    try {
      ;(o.onError ?? console.error)(error)
    } catch {
      // An onError that throws must not break the socket's emitter either.
    }
  }

/** How late a spread refetch may run and still count as at its place (timers are never exact). */
const LATE_MS = 100

const documentHidden = (): boolean =>
  typeof document !== 'undefined' && document.visibilityState === 'hidden'

/** @internal */
export const createInvalidation = (o: InvalidationOptions<object>): Invalidation => {
  const pending = new Map<string, Pending>()
  /** Queries that were fetching when their event was flushed, by query hash. */
  const deferred = new Map<string, { query: AnyQuery; mask: number }>()
  /** Top-level prefixes returned by function entries, per event, for resync. */
  const produced = new Map<string, Map<string, QueryKeyLike>>()
  /** Event sequence number, and the number current when each query's fetch started. */
  let seq = 0
  const started = new WeakMap<AnyQuery, number>()
  const report = reporter(o)
  let timer: ReturnType<typeof setTimeout> | undefined
  let deadline = 0
  let cap = 0
  let lastAt = -Infinity
  let unsubscribe: (() => void) | undefined
  const spreadTimers = new Set<ReturnType<typeof setTimeout>>()
  let seed: string | undefined

  const entries = (): Record<string, EventEntry<never> | undefined> => o.events
  const hidden = (): boolean => (o.isHidden ?? documentHidden)()

  const invalidate = (
    filters: { queryKey?: QueryKeyLike; exact?: boolean; predicate: (q: AnyQuery) => boolean },
    mask: number,
  ): void => {
    o.queryClient
      .invalidateQueries(
        { ...filters, refetchType: REFETCH_NAMES[hidden() ? 0 : mask] ?? 'active' },
        { cancelRefetch: false },
      )
      .catch(report)
  }

  const onCache = (event: QueryCacheNotifyEvent): void => {
    const { query } = event
    if (event.type === 'updated' && event.action.type === 'fetch') started.set(query, seq)
    const wait = deferred.get(query.queryHash)
    if (!wait || wait.query !== query) return
    const settled = event.type === 'updated' && query.state.fetchStatus === 'idle'
    if (!settled && event.type !== 'removed') return
    deferred.delete(query.queryHash)
    // Leave the cache's notification (we are inside its dispatch) before fetching again.
    if (settled) setTimeout(() => invalidate({ predicate: (q) => q === query }, wait.mask), 0)
  }

  const flush = (): void => {
    clearTimeout(timer)
    timer = undefined
    const batch = [...pending.values()].sort((a, b) => a.key.length - b.key.length)
    pending.clear()
    const kept: Pending[] = []
    for (const p of batch) {
      // A non-exact key covers every longer key it prefixes, when it refetches at least as much.
      const covered = kept.some(
        (k) =>
          !k.exact &&
          (k.mask & p.mask) === p.mask &&
          hashKey(p.key.slice(0, k.key.length)) === k.hash,
      )
      if (!covered) kept.push(p)
    }
    const cache = o.queryClient.getQueryCache()
    for (const { key, exact, mask, since } of kept) {
      try {
        for (const query of cache.findAll({ queryKey: key, exact, fetchStatus: 'fetching' })) {
          // A fetch that started after the batch's last event already answers it.
          if ((started.get(query) ?? -1) >= seq) continue
          const wait = deferred.get(query.queryHash)
          deferred.set(query.queryHash, { query, mask: mask | (wait?.mask ?? 0) })
        }
        invalidate(
          {
            queryKey: key,
            exact,
            predicate: (q) => q.state.fetchStatus !== 'fetching' && (started.get(q) ?? -1) < since,
          },
          mask,
        )
      } catch (error) {
        report(error)
      }
    }
  }

  const schedule = (): void => {
    seq++
    unsubscribe ??= o.queryClient.getQueryCache().subscribe(onCache)
    const now = Date.now()
    const window = o.coalesceMs ?? 50
    if (window <= 0) return flush()
    // A batch opened after a quiet period is flushed `window` after its first event; one opened
    // inside a stream (the previous event was less than `window` ago) is debounced up to maxWait.
    if (!timer) cap = now + (now - lastAt < window ? Math.max(o.maxWaitMs ?? 1000, window) : window)
    lastAt = now
    const due = Math.min(now + window, cap)
    if (timer && due === deadline) return
    clearTimeout(timer)
    deadline = due
    timer = setTimeout(flush, due - now)
  }

  type Spec = Parameters<typeof toKey>[0]
  const add = (spec: Spec, exact: boolean, mask: number, since = Infinity): void => {
    const key = toKey(spec)
    const hash = hashKey(key)
    const prev = pending.get(hash)
    pending.set(hash, {
      key,
      hash,
      exact: exact && (prev?.exact ?? true),
      mask: mask | (prev?.mask ?? 0),
      since: Math.max(since, prev?.since ?? since),
    })
  }

  /**
   * Runs `fire` at this client's place in a window of `windowMs` that started at `sentAt` (rule
   * 4). A client already past its place (reached late, or its timer ran late on a busy device)
   * takes, once, a new place (`latePlace`), rather than firing at once with every other client
   * that is late for the same reason.
   */
  const atPlace = (windowMs: number, sentAt: number | undefined, fire: () => void): void => {
    const offset = spreadOffset((seed ??= o.spreadSeed ?? tabSeed()), windowMs)
    const now = Date.now()
    const start = sentAt !== undefined && sentAt <= now && now - sentAt < windowMs ? sentAt : now
    let placed = offset
    const arm = (): void => {
      const timer = setTimeout(() => {
        spreadTimers.delete(timer)
        const late = Date.now() - start
        if (placed === offset && late > offset + LATE_MS) {
          placed = latePlace(offset, late, windowMs)
          return arm()
        }
        fire()
      }, placed - (Date.now() - start))
      spreadTimers.add(timer)
    }
    arm()
  }

  /** Adds the keys now, or marks them stale now and adds them at this client's spread offset. */
  const addAll = (specs: KeyList, exact: boolean, mask: number, spreadMs = 0, sentAt?: number): void => {
    if (spreadMs <= 0) {
      for (const spec of specs) add(spec, exact, mask)
      return schedule()
    }
    unsubscribe ??= o.queryClient.getQueryCache().subscribe(onCache)
    const since = ++seq
    for (const spec of specs)
      o.queryClient
        .invalidateQueries({ queryKey: toKey(spec), exact, refetchType: 'none' })
        .catch(report)
    atPlace(spreadMs, sentAt, () => {
      for (const spec of specs) add(spec, exact, mask, since)
      schedule()
    })
  }

  const resync = (names?: ReadonlySet<string>, spreadMs?: number, sentAt?: number): void => {
    for (const [name, raw] of Object.entries(entries())) {
      if (!raw || (names && !names.has(name))) continue
      const e = normalize(raw)
      const keys: KeyList =
        e.resync ?? (typeof e.keys === 'function' ? [...(produced.get(name)?.values() ?? [])] : e.keys)
      if (keys.length) addAll(keys, false, e.mask, spreadMs, sentAt)
    }
  }

  /** The events whose keys a resync of `data.rooms` must refetch; undefined: all of them. */
  const scope = (data: unknown): ReadonlySet<string> | undefined => {
    const rooms = (data as { rooms?: unknown } | null | undefined)?.rooms
    if (!o.roomEvents || !Array.isArray(rooms)) return undefined
    const names = new Set<string>()
    for (const room of rooms as unknown[]) {
      const published = typeof room === 'string' ? o.roomEvents(room) : undefined
      if (!published) return undefined
      for (const n of published) names.add(n)
    }
    return names
  }

  const event = (name: string, data: unknown, meta?: EventMeta): void => {
    try {
      if (name === (o.resyncEvent ?? 'nudge:resync')) return resync(scope(data), meta?.spread, meta?.sentAt)
      const events = entries()
      const raw = Object.hasOwn(events, name) ? events[name] : undefined
      if (!raw) return
      const e: Entry = normalize(raw)
      const keys = typeof e.keys === 'function' ? e.keys(data) : e.keys
      if (typeof e.keys === 'function' && !e.resync) {
        const seen = produced.get(name) ?? new Map<string, QueryKeyLike>()
        produced.set(name, seen)
        for (const spec of keys) {
          const top = toKey(spec).slice(0, 1)
          seen.set(hashKey(top), top)
        }
      }
      // Marked now, not at the flush: a request that starts after this line answers the event.
      for (const spec of keys) markQueries(o.queryClient, toKey(spec), e.exact, meta?.version)
      addAll(keys, e.exact, e.mask, meta?.spread, meta?.sentAt)
    } catch (error) {
      report(error)
    }
  }

  return {
    event,
    resync,
    dispose: () => {
      for (const t of spreadTimers) clearTimeout(t)
      spreadTimers.clear()
      clearTimeout(timer)
      timer = undefined
      unsubscribe?.()
      unsubscribe = undefined
      pending.clear()
      deferred.clear()
    },
  }
}
