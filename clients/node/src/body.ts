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
}

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
    const known = new Set(['room', 'rooms', 'event', 'data', 'except', 'id'])
    const unknown = Object.keys(item).filter((key) => !known.has(key))
    if (unknown.length > 0) {
      throw invalid(`unknown key(s) ${unknown.join(', ')}; use room/rooms, event, data, except, id`)
    }
    const { room, rooms, event, data, except, id } = item as EmitItem
    if ((room === undefined) === (rooms === undefined))
      throw invalid('give exactly one of room or rooms')
    const body = eventBody(room ?? rooms, event, data, except) as Record<string, unknown>
    if (id !== undefined) {
      if (typeof id !== 'string' || id === '' || Buffer.byteLength(id) > 256)
        throw invalid(`id must be a string of 1 to 256 bytes, got ${describe(id)}`)
      body['id'] = id
    }
    return body
  } catch (error) {
    if (error instanceof NudgeError) throw invalid(`events[${index}]: ${error.message}`)
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
