// Query-key helpers: normalising event-map entries and hashing keys.
// Internal module; nothing here is exported from the package.
import type { EventEntry, KeyList, KeySpec, QueryKeyLike, RefetchType } from './types.js'

/**
 * Refetch types as bit masks so that merging and covering are `|` and `&`:
 * `all` = `active | inactive`, and `none` is covered by everything.
 */
export const REFETCH: Record<RefetchType, number> = { none: 0, active: 1, inactive: 2, all: 3 }
export const REFETCH_NAMES: readonly RefetchType[] = ['none', 'active', 'inactive', 'all']

export interface Entry {
  readonly keys: KeyList | ((data: unknown) => KeyList)
  readonly exact: boolean
  readonly mask: number
  readonly resync: KeyList | undefined
}

export const toKey = (spec: KeySpec): QueryKeyLike => (typeof spec === 'string' ? [spec] : spec)

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  Object.prototype.toString.call(value) === '[object Object]'

/**
 * A stable hash: JSON with the properties of plain objects sorted, so `{a, b}` and `{b, a}`
 * hash alike, as they do in TanStack Query (whose own `hashKey` we do not import, to keep the
 * core free of runtime dependencies).
 */
export const hashKey = (key: QueryKeyLike): string =>
  JSON.stringify(key, (_, value: unknown) =>
    isPlainObject(value)
      ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, value[k]]))
      : value,
  )

export const normalize = (entry: EventEntry<never>): Entry => {
  // Arrays have a `keys` method, so test for the list forms first.
  const full = typeof entry === 'function' || Array.isArray(entry) ? { keys: entry } : entry
  return {
    keys: full.keys as Entry['keys'],
    exact: 'exact' in full && full.exact === true,
    mask: REFETCH['refetchType' in full ? (full.refetchType ?? 'active') : 'active'],
    resync: 'resync' in full ? full.resync : undefined,
  }
}
