// Type tests for app-wide typing through `Register`, augmented the way an app does it (on the
// entry module). This file's augmentation applies to the type-test program only.
import { expectTypeOf, test } from 'vitest'
import type { EventMap, RegisteredEvents } from '../src/index.js'
import { NudgeProvider, useNudgeEvent } from '../src/react.js'

interface AppEvents {
  loan_status_changed: { loanId: number }
  toast: { text: string; level: 'info' | 'error' }
}

declare module '../src/index.js' {
  interface Register {
    events: AppEvents
  }
}

test('Register types the map, the provider and useNudgeEvent', () => {
  expectTypeOf<RegisteredEvents>().toEqualTypeOf<AppEvents>()

  const events: EventMap = { loan_status_changed: (d) => [['loans', d.loanId]] }
  NudgeProvider({ url: 'http://hub', getToken: null, events })
  // @ts-expect-error not a registered event
  NudgeProvider({ url: 'http://hub', getToken: null, events: { balance_updated: ['balance'] } })

  useNudgeEvent('toast', (d) => {
    expectTypeOf(d).toEqualTypeOf<{ text: string; level: 'info' | 'error' }>()
  })
  // @ts-expect-error not a registered event
  useNudgeEvent('nope', () => {})
})
