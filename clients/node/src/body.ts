// The publish API's JSON bodies: validating arguments before anything is sent, encoding one
// event, and packing many into as few `{"events": [...]}` batches as the hub's limits allow.
// Pure functions; errors are NudgeError `invalid_argument`.
import { NudgeError } from './errors.js'

export type Rooms = string | readonly string[]

/** One event as the hub's JSON takes it (`room` or `rooms`, `event`, optional `data`, `except`). */
export interface EmitItem {
  readonly room?: string
  readonly rooms?: readonly string[]
  readonly event: string
  readonly data?: unknown
  readonly except?: Rooms
  /** Idempotency key; the emitter makes one per event unless given (`idempotent: false`: none). */
  readonly id?: string
  /** The event's position in the database (see `EventFields.version`). */
  readonly version?: EventVersion
  /** Spread window in ms (see `EventFields.spread`). */
  readonly spread?: number
}

/**
 * A version: a Postgres LSN (`"0/16B3748"`), decimal digits (`"123"`, up to 2^64 - 1), a
 * non-negative safe integer, or a bigint (sent as its decimal digits, since JSON numbers stop
 * at 2^53).
 */
export type EventVersion = string | number | bigint

/** The optional fields of issue 22/23 an event may carry, as the publish API takes them. */
export interface EventFields {
  /**
   * The event's position in the backend's database, compared numerically by clients and the
   * backend middleware so a refetch is never older than the event.
   */
  readonly version?: EventVersion
  /** Clients spread their refetches over this many ms (0 to 60000; 0 = at once). */
  readonly spread?: number
}

/** The hub's documented maximum `spread` (ms). */
export const MAX_SPREAD_MS = 60_000
const MAX_VERSION = (1n << 64n) - 1n
const LSN = /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/
const DECIMAL = /^[0-9]{1,20}$/

const invalid = (message: string): NudgeError =>
  new NudgeError(message, { code: 'invalid_argument' })

function names(value: unknown, what: string): string[] {
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list)) {
    throw invalid(`${what} must be a string or an array of strings, got ${describe(value)}`)
  }
  if (list.length === 0) throw invalid(`${what} must not be empty`)
  for (const name of list) {
    if (typeof name !== 'string' || name === '') {
      throw invalid(`${what} must hold non-empty strings, got ${describe(name)}`)
    }
  }
  return list as string[]
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value
}

/**
 * `version` as the publish API takes it, validated by the hub's rules (issue 22's contract):
 * throws `invalid_argument` naming the field, so a bad version fails here, not as a 400.
 */
export function versionField(value: unknown): string | number {
  if (typeof value === 'bigint') {
    if (value < 0n || value > MAX_VERSION)
      throw invalid(`version must be between 0 and 2^64 - 1, got ${value}`)
    return value.toString()
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0)
      throw invalid(
        `version must be a non-negative integer up to 2^53 - 1 (pass a string or a bigint ` +
          `for larger ones), got ${value}`,
      )
    return value
  }
  if (typeof value === 'string') {
    if (LSN.test(value)) return value
    if (DECIMAL.test(value) && BigInt(value) <= MAX_VERSION) return value
    throw invalid(
      `version must be a Postgres LSN like "0/16B3748" or decimal digits up to 2^64 - 1, ` +
        `got ${describe(value)}`,
    )
  }
  throw invalid(`version must be a string, a number or a bigint, got ${describe(value)}`)
}

/** `spread` in ms as the publish API takes it; throws `invalid_argument` naming the field. */
export function spreadField(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_SPREAD_MS)
    throw invalid(
      `spread must be an integer number of ms from 0 to ${MAX_SPREAD_MS}, got ` +
        (typeof value === 'number' ? String(value) : describe(value)),
    )
  return value
}

/** Adds `version` and `spread` (when given) to an event's body, validated. */
export function withFields(body: object, fields: EventFields | undefined): object {
  if (fields === undefined) return body
  const out = body as Record<string, unknown>
  if (fields.version !== undefined) out['version'] = versionField(fields.version)
  if (fields.spread !== undefined) out['spread'] = spreadField(fields.spread)
  return out
}

/** The hub's JSON object for one event; throws `invalid_argument` on a bad argument. */
export function eventBody(rooms: unknown, event: unknown, data: unknown, except: unknown): object {
  if (typeof event !== 'string' || event === '') {
    throw invalid(`event name must be a non-empty string, got ${describe(event)}`)
  }
  const roomList = names(rooms, 'rooms')
  const body: Record<string, unknown> =
    roomList.length === 1 ? { room: roomList[0] } : { rooms: roomList }
  body['event'] = event
  if (except !== undefined) body['except'] = names(except, 'except')
  if (data !== undefined) {
    if (typeof data === 'function' || typeof data === 'symbol') {
      throw invalid(`data of event "${event}" must be JSON, got a ${typeof data}`)
    }
    body['data'] = data
  }
  return body
}

/** The kinds of membership request (POST /api/v1/rooms/<kind>). */
export type RoomOpKind = 'join' | 'leave' | 'disconnect'

/**
 * The hub's JSON object for a membership request: the sockets in `rooms` (and in none of
 * `except`) join or leave `targets`, or are disconnected. Throws `invalid_argument`.
 */
export function roomOpBody(
  kind: RoomOpKind,
  rooms: unknown,
  except: unknown,
  targets?: unknown,
): object {
  const roomList = names(rooms, 'rooms')
  const body: Record<string, unknown> =
    roomList.length === 1 ? { room: roomList[0] } : { rooms: roomList }
  if (except !== undefined) body['except'] = names(except, 'except')
  if (kind !== 'disconnect') body[kind] = names(targets, `${kind === 'join' ? 'socketsJoin' : 'socketsLeave'} rooms`)
  return body
}

/** `eventBody` for an `emitMany` item, with its index in the message. */
export function itemBody(item: unknown, index: number): object {
  try {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw invalid(`must be an object, got ${describe(item)}`)
    }
    const known = new Set(['room', 'rooms', 'event', 'data', 'except', 'id', 'version', 'spread'])
    const unknown = Object.keys(item).filter((key) => !known.has(key))
    if (unknown.length > 0) {
      throw invalid(
        `unknown key(s) ${unknown.join(', ')}; use room/rooms, event, data, except, id, version, spread`,
      )
    }
    const { room, rooms, event, data, except, id, version, spread } = item as EmitItem
    if ((room === undefined) === (rooms === undefined))
      throw invalid('give exactly one of room or rooms')
    const body = eventBody(room ?? rooms, event, data, except) as Record<string, unknown>
    if (id !== undefined) {
      if (typeof id !== 'string' || id === '' || Buffer.byteLength(id) > 256)
        throw invalid(`id must be a string of 1 to 256 bytes, got ${describe(id)}`)
      body['id'] = id
    }
    return withFields(body, { version, spread } as EventFields)
  } catch (error) {
    // `events[2].version: ...`, as the hub names a field of a batch.
    if (error instanceof NudgeError) {
      const field = /^(version|spread) /.exec(error.message)
      throw invalid(
        field ? `events[${index}].${error.message}` : `events[${index}]: ${error.message}`,
      )
    }
    throw error
  }
}

/** JSON text of a body; data that JSON cannot carry (BigInt, cycles) is `invalid_argument`. */
export function encode(body: object): string {
  try {
    return JSON.stringify(body)
  } catch (error) {
    const event = (body as { event?: unknown }).event
    throw new NudgeError(
      `data of event "${String(event)}" cannot be sent as JSON: ${(error as Error).message}`,
      {
        code: 'invalid_argument',
        cause: error,
      },
    )
  }
}

const ENVELOPE = Buffer.byteLength('{"events":[]}')

/**
 * Splits encoded events into batch bodies of at most `maxBatch` events and `maxBody` bytes,
 * in order. An event too large on its own still goes alone: the hub's 413 then names the limit.
 */
export function* batches(
  encoded: readonly string[],
  maxBatch: number,
  maxBody: number,
): Generator<{ body: string; count: number }> {
  let chunk: string[] = []
  let size = ENVELOPE
  const flush = () => ({ body: `{"events":[${chunk.join(',')}]}`, count: chunk.length })
  for (const item of encoded) {
    const bytes = Buffer.byteLength(item)
    if (chunk.length > 0 && (chunk.length === maxBatch || size + 1 + bytes > maxBody)) {
      yield flush()
      chunk = []
      size = ENVELOPE
    }
    size += bytes + (chunk.length > 0 ? 1 : 0)
    chunk.push(item)
  }
  if (chunk.length > 0) yield flush()
}
