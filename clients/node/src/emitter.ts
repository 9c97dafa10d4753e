// createEmitter: publishes events to a nudge hub (POST /api/v1/emit) from a Node backend.
//
// Contract:
// - Every call validates its arguments first (nothing is sent on `invalid_argument`), then
//   resolves with the number of events the hub accepted or rejects with a NudgeError.
// - Network errors, timeouts and 5xx are retried with exponential backoff starting at the hub's
//   Retry-After (else `backoff.minMs`), capped at `backoff.maxMs`, jittered by ±20 % and never
//   sooner than the Retry-After, until `retryBudgetMs` (30 s) has passed since the first attempt
//   (and at most `retries` times, when given). That rides out a hub whose Redis broker is down
//   for ~30 s (503 broker_unavailable, Retry-After: 1). 4xx are never retried (the same request
//   would be refused again). Every event carries the same id on every attempt, so a retry of a
//   request the hub had taken is not delivered twice (the hub's --idempotency-window).
// - `onError`, when given, sees every failure; the returned promise still rejects, but an
//   un-awaited call (the seed's fire-and-forget `io.to(room).emit(...)`) no longer becomes an
//   unhandled rejection.
// - One emitter per hub and process: it keeps its HTTP connections alive between calls.
import { randomUUID } from 'node:crypto'
import {
  batches,
  type EmitItem,
  encode,
  type EventFields,
  eventBody,
  itemBody,
  type RoomOpKind,
  type Rooms,
  roomOpBody,
  withFields,
} from './body.js'
import { NudgeError, type NudgeErrorCode } from './errors.js'
import { createTransport, type Response, TimeoutError } from './transport.js'

export interface EmitterOptions {
  /** The hub's base URL, a path prefix is kept (`http://proxy/nudge`). Default `NUDGE_URL`, else `http://127.0.0.1:8080`. */
  readonly url?: string
  /** The hub's `--api-key`. Default `NUDGE_API_KEY`. */
  readonly apiKey?: string
  /** Per attempt: connect, send and answer (default 5000). */
  readonly timeoutMs?: number
  /**
   * Retry a failed attempt (network error, timeout, 5xx) until this many ms have passed since
   * the first attempt (default 30000; 0: never retry). The last wait is shortened to end with it.
   */
  readonly retryBudgetMs?: number
  /** If given, also an upper bound on the retries (0: one attempt); by default the budget decides. */
  readonly retries?: number
  /**
   * Wait `start * 2^n` ms between attempts, `start` being the hub's Retry-After or else `minMs`,
   * capped at `maxMs`, jittered by ±20 %, never under the Retry-After (default 500 … 8000).
   */
  readonly backoff?: { readonly minMs?: number; readonly maxMs?: number }
  /**
   * How the emitter reads the time and waits between attempts (default `performance.now`,
   * `setTimeout` and a random jitter factor in [0.8, 1.2]); tests pass a fake one.
   */
  readonly clock?: RetryClock
  /** The hub's `--max-batch` and `--max-body`: `emitMany` splits its events to fit both. */
  readonly maxBatch?: number
  readonly maxBody?: number
  /** The hub's `--user-room` template, used by `emitEvent` (default `NUDGE_USER_ROOM` or `user_{id}`). */
  readonly userRoom?: string
  /** Sees every failed call, e.g. to log it. */
  readonly onError?: (error: NudgeError) => void
  /**
   * Give every event a random `id` (default `true`), so a retry of a request the hub had taken
   * is accepted but not delivered again (the hub's `--idempotency-window`).
   */
  readonly idempotent?: boolean
}

export interface RetryClock {
  /** Milliseconds on a monotonic clock. */
  readonly now?: () => number
  readonly sleep?: (ms: number) => Promise<void>
  /** The factor each backoff wait is multiplied by. */
  readonly jitter?: () => number
}

export interface EmitOptions extends EventFields {
  /** Sockets in these rooms do not receive the event. */
  readonly except?: Rooms
}

/** Socket.IO's `io.to(room)` chain; `emit` returns a Promise, unlike Socket.IO's boolean. */
export interface BroadcastOperator {
  to(room: Rooms): BroadcastOperator
  in(room: Rooms): BroadcastOperator
  except(room: Rooms): BroadcastOperator
  /** Sends `event` with `data` as the handler's one argument; resolves when the hub accepted it. */
  emit(event: string, data?: unknown): Promise<number>
  /**
   * The selected sockets join `rooms` (POST /api/v1/rooms/join), on every hub. Resolves once
   * the hub accepted it; an event published afterwards reaches them. A socket that reconnects
   * loses the room unless its token grants it or the hub runs with `--granted-rooms-ttl`.
   */
  socketsJoin(rooms: Rooms): Promise<void>
  /** The selected sockets leave `rooms`. */
  socketsLeave(rooms: Rooms): Promise<void>
  /**
   * Disconnects the selected sockets (they get "io server disconnect" and do not reconnect
   * by themselves): `io.in(\`user_${id}\`).disconnectSockets()` logs a user out everywhere.
   * The hub always closes the connection; `close` is accepted for Socket.IO compatibility.
   */
  disconnectSockets(close?: boolean): Promise<void>
}

export interface Emitter {
  readonly url: string
  /** `event` to every socket in `rooms`, except those in `options.except`. */
  emit(rooms: Rooms, event: string, data?: unknown, options?: EmitOptions): Promise<number>
  /** The seed's `emit_event`: `event` to every socket of `userId`, with `metadata ?? {}`. */
  emitEvent(
    userId: string | number,
    event: string,
    metadata?: unknown,
    fields?: EventFields,
  ): Promise<number>
  /** Many events in as few requests as the hub's limits allow, in order. */
  emitMany(events: Iterable<EmitItem>): Promise<number>
  /** The room every socket of `userId` is in (`user_<id>` by default). */
  roomFor(userId: string | number): string
  to(room: Rooms): BroadcastOperator
  in(room: Rooms): BroadcastOperator
  except(room: Rooms): BroadcastOperator
  /** Closes idle connections; the emitter stays usable. */
  close(): void
}

const EMIT_PATH = '/api/v1/emit'
const ROOMS_PATH = '/api/v1/rooms/'
const USER_AGENT = 'nudge-node/0.1'
// A Retry-After longer than this is treated as this: a misconfigured proxy must not park us.
const MAX_RETRY_AFTER_MS = 60_000
// The default retry policy: from the Retry-After (else 500 ms), doubling, capped at 8 s, ±20 %,
// for 30 s: a Redis broker that restarts or fails over within that costs no event.
const DEFAULT_RETRY_BUDGET_MS = 30_000
const DEFAULT_MIN_BACKOFF_MS = 500
const DEFAULT_MAX_BACKOFF_MS = 8000
const JITTER = 0.2

const invalid = (message: string): NudgeError =>
  new NudgeError(message, { code: 'invalid_argument' })

function positive(value: number | undefined, fallback: number, what: string, min = 0): number {
  const result = value ?? fallback
  if (!Number.isFinite(result) || result < min)
    throw invalid(`${what} must be a number >= ${min}, got ${String(value)}`)
  return result
}

function parseUrl(url: string): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw invalid(`hub URL must look like http://host:port, got "${url}"`)
  }
  if (
    (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') ||
    parsed.search ||
    parsed.hash
  ) {
    throw invalid(`hub URL must be http(s)://host:port[/prefix], got "${url}"`)
  }
  return parsed
}

export function createEmitter(options: EmitterOptions = {}): Emitter {
  const env = process.env
  const base = parseUrl(options.url ?? env['NUDGE_URL'] ?? 'http://127.0.0.1:8080')
  const url = base.href.replace(/\/+$/, '')
  const apiKey = options.apiKey ?? env['NUDGE_API_KEY']
  if (!apiKey) throw invalid("no API key: pass apiKey or set NUDGE_API_KEY (the hub's --api-key)")
  const timeoutMs = positive(options.timeoutMs, 5000, 'timeoutMs', 1)
  const retryBudgetMs = positive(options.retryBudgetMs, DEFAULT_RETRY_BUDGET_MS, 'retryBudgetMs')
  const retries =
    options.retries === undefined ? Infinity : Math.floor(positive(options.retries, 0, 'retries'))
  const minMs = positive(options.backoff?.minMs, DEFAULT_MIN_BACKOFF_MS, 'backoff.minMs')
  const maxMs = positive(options.backoff?.maxMs, DEFAULT_MAX_BACKOFF_MS, 'backoff.maxMs')
  const now = options.clock?.now ?? (() => performance.now())
  const sleep =
    options.clock?.sleep ??
    ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const jitter = options.clock?.jitter ?? (() => 1 - JITTER + Math.random() * 2 * JITTER)
  const maxBatch = Math.floor(positive(options.maxBatch, 1000, 'maxBatch', 1))
  const maxBody = Math.floor(positive(options.maxBody, 1 << 20, 'maxBody', 64))
  const userRoom = options.userRoom ?? env['NUDGE_USER_ROOM'] ?? 'user_{id}'
  if (!userRoom.includes('{id}')) throw invalid(`userRoom must contain {id}, got "${userRoom}"`)
  const headers = {
    authorization: `Bearer ${apiKey}`,
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
  }
  const transport = createTransport(base)

  /** One request, retried on network errors and 5xx; resolves with `accepted`. */
  async function post(body: string, path = EMIT_PATH): Promise<number> {
    const started = now()
    for (let attempt = 1; ; attempt++) {
      let failure: NudgeError
      let retryAfterMs: number | undefined
      const outcome = await transport.post(path, body, headers, timeoutMs).then(
        (response) => ({ response }),
        (error: unknown) => ({ error }),
      )
      if ('response' in outcome) {
        const { response } = outcome
        if (response.status >= 200 && response.status < 300) return accepted(response, attempt)
        failure = httpError(url, response)
        retryAfterMs = retryAfter(response)
      } else {
        failure = networkError(url, outcome.error, timeoutMs)
      }
      failure.attempts = attempt
      const left = retryBudgetMs - (now() - started)
      if (!failure.retryable || attempt > retries || left <= 0) {
        if (attempt > 1) {
          const why =
            failure.retryable && left <= 0 ? `, retry budget of ${retryBudgetMs} ms spent` : ''
          failure.message += ` (gave up after ${attempt} attempts${why})`
        }
        throw failure
      }
      // From the hub's Retry-After (else minMs), doubling, capped; jittered so that many
      // emitters do not retry in lockstep, but never sooner than the hub asked.
      const start = retryAfterMs || minMs  // a Retry-After of 0 must not mean a busy loop
      const backoff = Math.min(maxMs, start * 2 ** (attempt - 1)) * jitter()
      const wait = Math.max(backoff, retryAfterMs ?? 0)
      await sleep(Math.min(wait, left))
    }
  }

  function accepted(response: Response, attempt: number): number {
    const count = parseJson(response.body)?.['accepted']
    if (typeof count === 'number') return count
    if (count === true) return 1  // a membership request
    const error = new NudgeError(
      `the server at ${url} answered ${response.status} but not like a nudge hub (${snippet(response.body)}); ` +
        `is ${url} the hub's address?`,
      { code: 'unexpected_response', url, status: response.status },
    )
    error.attempts = attempt
    throw error
  }

  /** Failures go to `onError` too, and are then marked handled, for un-awaited calls. */
  function report<T>(promise: Promise<T>): Promise<T> {
    const onError = options.onError
    if (onError) {
      promise.catch((error: unknown) => {
        if (error instanceof NudgeError) onError(error)
      })
    }
    return promise
  }

  // The id is fixed before the first attempt: every retry of the request carries the same one.
  const withId = (body: object): object =>
    options.idempotent === false || 'id' in body ? body : { ...body, id: randomUUID() }

  const roomFor = (userId: string | number): string => {
    if (userId === '' || userId === null || userId === undefined)
      throw invalid('userId must not be empty')
    return userRoom.replaceAll('{id}', String(userId))
  }

  // The calls below are async so that a bad argument rejects rather than throws.
  const emit = async (
    rooms: Rooms,
    event: string,
    data?: unknown,
    except?: Rooms,
    fields?: EventFields,
  ): Promise<number> =>
    post(encode(withId(withFields(eventBody(rooms, event, data, except), fields))))

  const emitEvent = async (
    userId: string | number,
    event: string,
    metadata?: unknown,
    fields?: EventFields,
  ) => emit(roomFor(userId), event, metadata ?? {}, undefined, fields)

  async function emitMany(events: Iterable<EmitItem>): Promise<number> {
    if (
      typeof (events as { [Symbol.iterator]?: unknown } | null)?.[Symbol.iterator] !== 'function'
    ) {
      throw invalid('emitMany takes an array (or iterable) of events')
    }
    const encoded = Array.from(events, (item, index) => encode(withId(itemBody(item, index))))
    let total = 0
    for (const batch of batches(encoded, maxBatch, maxBody)) {
      try {
        total += await post(batch.body)
      } catch (error) {
        if (error instanceof NudgeError) error.accepted = total
        throw error
      }
    }
    return total
  }

  async function broadcast(
    rooms: readonly string[],
    except: readonly string[],
    event: string,
    args: unknown[],
  ) {
    if (args.length > 1 || typeof args[0] === 'function') {
      throw invalid(
        `emit("${event}", …) takes one data argument and no acknowledgement callback: ` +
          'the hub sends one argument and browsers never answer a broadcast',
      )
    }
    if (rooms.length === 0) {
      throw invalid(
        `emit("${event}") needs a room: use io.to(room).emit(…) (the hub has no broadcast to all)`,
      )
    }
    return emit(
      [...new Set(rooms)],
      event,
      args[0],
      except.length > 0 ? [...new Set(except)] : undefined,
    )
  }

  async function roomOp(
    kind: RoomOpKind,
    rooms: readonly string[],
    except: readonly string[],
    targets?: Rooms,
  ): Promise<void> {
    if (rooms.length === 0) {
      throw invalid(
        `${kind === 'disconnect' ? 'disconnectSockets' : kind === 'join' ? 'socketsJoin' : 'socketsLeave'}` +
          '() needs a room: use io.in(room)… (the hub does not act on every socket at once)',
      )
    }
    const body = roomOpBody(
      kind,
      [...new Set(rooms)],
      except.length > 0 ? [...new Set(except)] : undefined,
      targets,
    )
    await post(encode(body), ROOMS_PATH + kind)
  }

  const operator = (rooms: readonly string[], except: readonly string[]): BroadcastOperator => ({
    to: (room) => operator([...rooms, ...list(room)], except),
    in: (room) => operator([...rooms, ...list(room)], except),
    except: (room) => operator(rooms, [...except, ...list(room)]),
    emit: (event: string, ...args: unknown[]) => report(broadcast(rooms, except, event, args)),
    socketsJoin: (targets) => report(roomOp('join', rooms, except, targets)),
    socketsLeave: (targets) => report(roomOp('leave', rooms, except, targets)),
    disconnectSockets: () => report(roomOp('disconnect', rooms, except)),
  })
  const root = operator([], [])

  return {
    url,
    emit: (rooms, event, data, emitOptions) =>
      report(emit(rooms, event, data, emitOptions?.except, emitOptions)),
    emitEvent: (userId, event, metadata, fields) =>
      report(emitEvent(userId, event, metadata, fields)),
    emitMany: (events) => report(emitMany(events)),
    roomFor,
    to: root.to,
    in: root.in,
    except: root.except,
    close: () => transport.close(),
  }
}

function list(room: Rooms): readonly string[] {
  return typeof room === 'string' ? [room] : room
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

const snippet = (text: string): string =>
  JSON.stringify(text.trim().slice(0, 200)) || '(empty answer)'

/** Milliseconds from a Retry-After header (delta-seconds or an HTTP date), if it has one. */
function retryAfter(response: Response): number | undefined {
  const value = response.headers['retry-after']
  if (!value) return undefined
  const seconds = Number(value)
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now()
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : undefined
}

function httpError(url: string, response: Response): NudgeError {
  const { status } = response
  const hubError = parseJson(response.body)?.['error'] as
    { code?: unknown; message?: unknown } | undefined
  const hubCode = typeof hubError?.code === 'string' ? hubError.code : undefined
  const hubMessage =
    typeof hubError?.message === 'string'
      ? hubError.message
      : response.body.trim().slice(0, 200) || '(empty answer)'
  const label = hubCode ? `${status} ${hubCode}` : String(status)
  const details = { url, status, hubMessage, ...(hubCode === undefined ? {} : { hubCode }) }
  const make = (code: NudgeErrorCode, text: string) => new NudgeError(text, { code, ...details })
  if (status === 401) {
    return make(
      'unauthorized',
      `the hub at ${url} refused the API key (${label}): wrong or missing API key ` +
        "(it must be the hub's --api-key)",
    )
  }
  if (status === 413) {
    return make(
      'too_large',
      `the hub at ${url} refused a body over its --max-body (${label}): ${hubMessage}; ` +
        "each event must fit, and this emitter's maxBody must not exceed the hub's",
    )
  }
  if (status === 503 && hubCode === 'broker_unavailable') {
    return make(
      'overloaded',
      `the hub at ${url} cannot reach its message broker (${label}): ${hubMessage}`,
    )
  }
  if (status === 503)
    return make('overloaded', `the hub at ${url} is overloaded (${label}): ${hubMessage}`)
  if (status >= 500)
    return make('server_error', `the hub at ${url} failed (${label}): ${hubMessage}`)
  const hint = status === 404 ? `; is ${url} the hub's address?` : ''
  return make(
    'bad_request',
    `the hub at ${url} rejected the request (${label}): ${hubMessage}${hint}`,
  )
}

const NETWORK_REASONS: Partial<Record<string, string>> = {
  ECONNREFUSED: 'connection refused (is nudged running there?)',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'unknown host (DNS lookup failed)',
  ECONNRESET: 'the connection closed without an answer',
  EHOSTUNREACH: 'host unreachable',
}

function networkError(url: string, error: unknown, timeoutMs: number): NudgeError {
  if (error instanceof TimeoutError) {
    return new NudgeError(`the hub at ${url} did not answer within ${timeoutMs} ms`, {
      code: 'timeout',
      url,
      cause: error,
    })
  }
  const { code = '', message } = error as NodeJS.ErrnoException
  const reason = NETWORK_REASONS[code] ?? (message || String(error))
  return new NudgeError(`cannot reach the hub at ${url}: ${reason}`, {
    code: 'unreachable',
    url,
    cause: error,
  })
}
