// Where in a spread window this client refetches (issue 23: herd-proof invalidation).
//
// Contract: an event with a spread window W makes every client refetch its keys once, at an
// offset in [0, W) that depends only on the client's seed, so 10,000 clients spread evenly
// over the window and a reload does not move a tab: the default seed is a per-tab id kept in
// sessionStorage (which survives a reload and is not shared with other tabs), or a random id
// per client where there is no storage (Node, a sandboxed frame).

const SEED_KEY = 'nudge:spread-seed'

const randomId = (): string => Math.random().toString(36).slice(2)

/** @internal The tab's seed: kept in sessionStorage when there is one, else random. */
export const tabSeed = (): string => {
  try {
    const storage = globalThis.sessionStorage
    const kept = storage.getItem(SEED_KEY)
    if (kept) return kept
    const seed = randomId()
    storage.setItem(SEED_KEY, seed)
    return seed
  } catch {
    // No storage, or storage refused (private mode, a sandboxed frame).
    return randomId()
  }
}

/**
 * @internal The offset in ms, in [0, windowMs), of the client with `seed`: FNV-1a of the seed as
 * a fraction of 2^32, so offsets are spread uniformly whatever the seeds look like.
 */
export const spreadOffset = (seed: string, windowMs: number): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < seed.length; i++) hash = Math.imul(hash ^ seed.charCodeAt(i), 0x01000193)
  return Math.floor(((hash >>> 0) / 2 ** 32) * Math.max(0, windowMs))
}

/**
 * @internal Where a client that is already past its place refetches: `lag` ms into a window of
 * `windowMs` (lag > offset), its `offset` from `spreadOffset`. Clients reached late miss their
 * places together (a busy network, a hub still fanning out), so if each took the next free moment
 * they would all land at once, and if they took a place in what is left of the window that part
 * would carry more than the window's rate. Instead, assuming the others are about as late as this
 * one (`lag / windowMs` of them), the late clients first fill a grace of `windowMs / 16` after the
 * window at the window's own rate (a share `grace / lag` of them), and the rest spread over what
 * is left of the window. So the origin's rate stays near `clients / windowMs`, and the last
 * client refetches by `windowMs × 17/16`. Deterministic: the place follows from `offset / lag`.
 */
export const latePlace = (offset: number, lag: number, windowMs: number): number => {
  const grace = windowMs / 16
  const intoGrace = Math.min(1, grace / lag)
  const u = offset / lag
  // (Past the window and its grace, either place is in the past: the client refetches now.)
  return Math.floor(
    u < intoGrace
      ? windowMs + (u / intoGrace) * grace
      : lag + ((u - intoGrace) / (1 - intoGrace)) * (windowMs - lag),
  )
}
