// Type tests for app-wide typing through `Register`, augmented the way an app does it (on the
// entry module). This file's augmentation applies to the type-test program only.
import { expectTypeOf, test } from 'vitest'
import type { EventMap, RegisteredEvents } from '../src/index.js'
import { NudgeProvider, useNudgeEvent, useNudgeRoom } from '../src/react.js'

interface AppEvents {
  balance_updated: undefined
  loan_status_changed: { loanId: number }
  loan_closed: { loanId: number }
  profile_updated: undefined
  audit_logged: { day: string }
  toast: { text: string; level: 'info' | 'error' }
}

declare module '../src/index.js' {
  interface Register {
    events: AppEvents
  }
}

test('Register types the map, the provider and useNudgeEvent', () => {
  expectTypeOf<RegisteredEvents>().toEqualTypeOf<AppEvents>()

  // The README's map.
  const events = {
    balance_updated: ['balance'],
    loan_status_changed: (d) => [['loans', d.loanId], 'loan-summary'],
    loan_closed: [['loans', { status: 'open' }]],
    profile_updated: { keys: ['profile'], exact: true, refetchType: 'all' },
    audit_logged: { keys: (d) => [['audit', d.day]], resync: ['audit'] },
  } satisfies EventMap
  NudgeProvider({ url: 'http://hub', getToken: null, events })
  // @ts-expect-error not a registered event
  NudgeProvider({ url: 'http://hub', getToken: null, events: { balance_changed: ['balance'] } })

  useNudgeEvent('toast', (d) => {
    expectTypeOf(d).toEqualTypeOf<{ text: string; level: 'info' | 'error' }>()
  })
  // @ts-expect-error not a registered event
  useNudgeEvent('nope', () => {})
})

test('useNudgeRoom takes a room (or nothing) and an optional token getter', () => {
  expectTypeOf(useNudgeRoom).parameter(0).toEqualTypeOf<string | null | undefined>()
  useNudgeRoom('project_42')
  useNudgeRoom(null)
  useNudgeRoom('project_42', async (room) => `token-for-${room}`)
  // @ts-expect-error a room is a string
  useNudgeRoom(42)
})
