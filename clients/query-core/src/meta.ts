// nudge's metadata argument on the wire (docs: the contract of issues 22 and 23).
//
// Contract: pure functions, no state. A session that sent `auth.nudge: 1` receives an event that
// carries a version or a spread window as
//   42["name", <data or null>, {"$nudge":{"v":"0/16B3748","s":3000}}, "<epoch>:<seq>"]
// the offset last only when the session has recovery (a pid). A plain socket.io-client sees none
// of this, so an event without metadata reads exactly as before.

export interface EventMeta {
  readonly version?: string
  readonly spread?: number
}

/**
 * Splits socket.io-client's event arguments: drops a trailing offset string when the session has
 * recovery (`hasOffset`), removes one argument that is an object with the single key `$nudge`,
 * and returns the data (the first remaining argument, or undefined) and the metadata.
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
    at < 0 ? undefined : (rest.splice(at, 1)[0] as { $nudge: { v?: unknown; s?: unknown } | null }).$nudge
  const s = m?.s
  return {
    // An ack callback is not data (nudged never asks for one, but a relay might).
    data: typeof rest[0] === 'function' ? undefined : rest[0],
    meta: {
      ...(typeof m?.v === 'string' && { version: m.v }),
      // A window the hub never sends (negative, fractional, huge) is read as no spread at all
      // rather than as a reason to hold a refetch back for minutes.
      ...(typeof s === 'number' && Number.isInteger(s) && s > 0 && s <= 60_000 && { spread: s }),
    },
  }
}

const toNumber = (version: string): bigint => {
  const lsn = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(version)
  if (lsn) return (BigInt(`0x${lsn[1]}`) << 32n) + BigInt(`0x${lsn[2]}`)
  if (/^[0-9]{1,20}$/.test(version)) return BigInt(version)
  throw new TypeError(`nudge: "${version}" is not a version (a Postgres LSN "H/L" or decimal digits)`)
}

/** Compares two versions (LSN "H/L" or decimal digits) numerically: <0, 0, >0. Throws on neither. */
export function compareVersions(a: string, b: string): number {
  const x = toNumber(a)
  const y = toNumber(b)
  return x < y ? -1 : x > y ? 1 : 0
}
