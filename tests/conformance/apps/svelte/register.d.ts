import type { AppEvents } from '../shared'

declare module '@nudge/svelte-query' {
  interface Register {
    events: AppEvents
  }
}
