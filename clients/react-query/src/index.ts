// @nudge/react-query core: framework-free, no React import. The React layer is './react'.
export { createInvalidator } from './invalidator.js'
export type { InvalidatorOptions } from './invalidator.js'
export type { InvalidationOptions } from './invalidation.js'
export { createNudge } from './nudge.js'
export type { NudgeClient, NudgeOptions } from './nudge.js'
export { pageResumeListener } from './resume.js'
export type * from './types.js'
