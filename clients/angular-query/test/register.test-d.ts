// Type tests for app-wide typing through `Register`, augmented on this package the way an app
// does it. This file's augmentation applies to the type-test program only.
import { type EnvironmentProviders, type Signal, signal } from '@angular/core'
import { expectTypeOf, test } from 'vitest'
import {
  type EventMap,
  type GetToken,
  injectNudge,
  injectNudgeEvent,
  injectNudgeRoom,
  injectNudgeStatus,
  type NudgeClient,
  type NudgeStatus,
  provideNudge,
  type RegisteredEvents,
} from '../src/index.js'

interface AppEvents {
  balance_updated: undefined
  loan_status_changed: { loanId: number }
  toast: { text: string; level: 'info' | 'error' }
}

declare module '../src/index.js' {
  interface Register {
    events: AppEvents
  }
}

test('Register types the map, the provider and injectNudgeEvent', () => {
  expectTypeOf<RegisteredEvents>().toEqualTypeOf<AppEvents>()
  const events = {
    balance_updated: ['balance'],
    loan_status_changed: (d) => [['loans', d.loanId], 'loan-summary'],
  } satisfies EventMap
  expectTypeOf(provideNudge({ url: 'http://hub', getToken: null, events })).toEqualTypeOf<EnvironmentProviders>()
  provideNudge(() => ({ url: 'http://hub', getToken: signal<GetToken | null>(null), events }))
  // @ts-expect-error not a registered event
  provideNudge({ url: 'http://hub', getToken: null, events: { balance_changed: ['balance'] } })
  // @ts-expect-error a token getter returns a token
  provideNudge({ url: 'http://hub', getToken: () => 42, events })

  injectNudgeEvent('toast', (d) => {
    expectTypeOf(d).toEqualTypeOf<{ text: string; level: 'info' | 'error' }>()
  })
  // @ts-expect-error not a registered event
  injectNudgeEvent('nope', () => {})
})

test('status is a signal, rooms take values and signals, the client is typed', () => {
  expectTypeOf(injectNudgeStatus()).toEqualTypeOf<Signal<NudgeStatus>>()
  injectNudgeRoom('project_42')
  injectNudgeRoom(null)
  injectNudgeRoom(signal<string | null>('project_42'), async (room) => `token-for-${room}`)
  // @ts-expect-error a room is a string
  injectNudgeRoom(42)
  expectTypeOf(injectNudge()).toEqualTypeOf<NudgeClient<AppEvents>>()
})
