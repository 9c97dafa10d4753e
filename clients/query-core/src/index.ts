// @nudge/query-core: the framework-free core (no React, Vue, Solid, Svelte or Angular import).
// The framework bindings (@nudge/react-query, @nudge/vue-query, ...) are thin layers over it.
export { createInvalidator } from './invalidator.js'
export type { InvalidatorOptions } from './invalidator.js'
export type { InvalidationOptions } from './invalidation.js'
export { createNudge } from './nudge.js'
export type { NudgeClient, NudgeOptions } from './nudge.js'
export { pageResumeListener } from './resume.js'
export type * from './types.js'
export { compareVersions, readEventArgs } from './meta.js'
export type { EventMeta } from './meta.js'
