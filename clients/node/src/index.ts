// @nudge/emitter: publish "invalidate" events to a nudge hub from Node. No dependencies.
export { createEmitter } from './emitter.js'
export type {
  BroadcastOperator,
  Emitter,
  EmitOptions,
  EmitterOptions,
  RetryClock,
} from './emitter.js'
export type { EmitItem, EventFields, EventVersion, Rooms } from './body.js'
export { MAX_SPREAD_MS } from './body.js'
export { isNudgeError, NudgeError } from './errors.js'
export type { NudgeErrorCode, NudgeErrorDetails } from './errors.js'
