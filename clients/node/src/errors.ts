// NudgeError: every way a publish can fail, as one error type whose `code` says which.
//
// Contract: the message always names the cause in words a developer can act on (which hub,
// which status, which field); `code` is for programs. Nothing is dropped silently: a failed
// call rejects with a NudgeError, and `onError` (when configured) sees it too.

/**
 * - `invalid_argument`: caught before sending (empty event name, no rooms, data not JSON).
 * - `unreachable`: no connection to the hub (refused, reset, unknown host) — retried.
 * - `timeout`: no answer within `timeoutMs` — retried.
 * - `unauthorized`: 401, the API key is missing or wrong.
 * - `bad_request`: 400 (the hub's `hubCode` says which rule: `reserved_event`, …), 404, other 4xx.
 * - `too_large`: 413, the body is over the hub's `--max-body`.
 * - `overloaded`: 503, the hub's fan-out is behind (`hubCode` `overloaded`) or its Redis broker
 *   is unreachable (`hubCode` `broker_unavailable`) — retried, from its `Retry-After`.
 * - `server_error`: another 5xx (often a proxy in front of the hub) — retried.
 * - `unexpected_response`: a 2xx that is not the hub's `{"accepted": N}`.
 */
export type NudgeErrorCode =
  | 'invalid_argument'
  | 'unreachable'
  | 'timeout'
  | 'unauthorized'
  | 'bad_request'
  | 'too_large'
  | 'overloaded'
  | 'server_error'
  | 'unexpected_response'

export interface NudgeErrorDetails {
  readonly code: NudgeErrorCode
  /** The hub's base URL; `undefined` when nothing was sent. */
  readonly url?: string
  /** HTTP status, when the hub (or something in front of it) answered. */
  readonly status?: number
  /** `code` from the hub's `{"error": {"code", "message"}}`. */
  readonly hubCode?: string
  /** `message` from the hub's error body, or the start of a body that was not the hub's. */
  readonly hubMessage?: string
  readonly cause?: unknown
}

export class NudgeError extends Error {
  override readonly name = 'NudgeError'
  readonly code: NudgeErrorCode
  readonly url: string | undefined
  readonly status: number | undefined
  readonly hubCode: string | undefined
  readonly hubMessage: string | undefined
  /** Requests made for this call (0 when nothing was sent). */
  attempts = 0
  /** From `emitMany`: how many leading events the hub accepted before this failure. */
  accepted = 0

  constructor(message: string, details: NudgeErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = details.code
    this.url = details.url
    this.status = details.status
    this.hubCode = details.hubCode
    this.hubMessage = details.hubMessage
  }

  /** Whether sending the same request again may succeed. */
  get retryable(): boolean {
    return (
      this.code === 'unreachable' ||
      this.code === 'timeout' ||
      this.code === 'overloaded' ||
      this.code === 'server_error'
    )
  }
}

export const isNudgeError = (value: unknown): value is NudgeError => value instanceof NudgeError
