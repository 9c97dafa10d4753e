// The metadata argument nudged adds to events for sessions that said `auth.nudge === 1`
// (docs/fresh-data.md, docs/protecting-your-api.md), and the order of event versions.
//
// Contract: pure functions, no state, no I/O. An event that carries a version or a spread window
// arrives as
//   42["name", <data or null>, {"$nudge":{"v":"0/16B3748","s":3000,"t":1765112345678}}, "<epoch>:<seq>"]
// the offset last only when the session has recovery (a pid); "t", with a window, is when the hub
// took the event (Unix ms). A plain socket.io-client sees none
// of this, so an event without metadata reads exactly as before. A version is a Postgres LSN
// ("H/L", two hex parts of at most 8 digits) or decimal digits (at most 20, value below 2^64);
// both map to one unsigned 64-bit number (LSN H/L → H·2^32 + L), so they compare with each other.

export interface EventMeta {
  readonly version?: string
  readonly spread?: number
  /** With `spread`: when the hub took the event (Unix ms), where the spread window starts. */
  readonly sentAt?: number
}

/**
 * Splits socket.io-client's event arguments: drops a trailing offset string when the session
 * has recovery (`hasOffset`: a pid is set), removes one argument that is an object with the
 * single key "$nudge" (the metadata), and returns the data (the first remaining argument, or
 * undefined) and the metadata.
 */
export function readEventArgs(
  args: readonly unknown[],
  hasOffset: boolean,
): { data: unknown; meta: EventMeta } {
  const rest = args.slice(0, hasOffset && typeof args.at(-1) === 'string' ? -1 : undefined)
  const at = rest.findIndex(
    (a) => typeof a === 'object' && a !== null && '$nudge' in a && Object.keys(a).length === 1,
  )
  const m =
    at < 0
      ? undefined
      : (rest.splice(at, 1)[0] as { $nudge: { v?: unknown; s?: unknown; t?: unknown } | null }).$nudge
  const s = m?.s
  const spread = typeof s === 'number' && Number.isInteger(s) && s > 0 && s <= 60_000
  const t = m?.t
  return {
    // An ack callback is not data (nudged never asks for one, but a relay might).
    data: typeof rest[0] === 'function' ? undefined : rest[0],
    meta: {
      ...(typeof m?.v === 'string' && { version: m.v }),
      // A window the hub never sends (negative, fractional, huge) is read as no spread at all
      // rather than as a reason to hold a refetch back for minutes.
      ...(spread && { spread: s as number }),
      ...(spread && Number.isSafeInteger(t) && (t as number) > 0 && { sentAt: t as number }),
    },
  }
}

const MAX = (1n << 64n) - 1n

/** A version as one unsigned 64-bit number; throws a message naming the bad value. */
const versionValue = (version: string): bigint => {
  const lsn = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(version)
  if (lsn) return (BigInt(`0x${lsn[1]}`) << 32n) + BigInt(`0x${lsn[2]}`)
  if (/^[0-9]{1,20}$/.test(version) && BigInt(version) <= MAX) return BigInt(version)
  throw new TypeError(
    `nudge: "${version}" is not a version (a Postgres LSN like "0/16B3748" or decimal digits below 2^64)`,
  )
}

/** Compares two versions (LSN "H/L" or decimal digits) numerically: <0, 0, >0. Throws on neither. */
export function compareVersions(a: string, b: string): number {
  const x = versionValue(a)
  const y = versionValue(b)
  return x < y ? -1 : x > y ? 1 : 0
}
