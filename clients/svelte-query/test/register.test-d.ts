// Type tests for app-wide typing through `Register`, augmented on this package the way an app
// does it. This file's augmentation applies to the type-test program only.
import { type Readable, writable } from 'svelte/store'
import { expectTypeOf, test } from 'vitest'
import {
  type EventMap,
  type GetToken,
  type NudgeClient,
  type NudgeStatus,
  type RegisteredEvents,
  setNudgeContext,
  useNudge,
  useNudgeEvent,
  useNudgeRoom,
  useNudgeStatus,
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

test('Register types the map, the context and useNudgeEvent', () => {
  expectTypeOf<RegisteredEvents>().toEqualTypeOf<AppEvents>()
  const events = {
    balance_updated: ['balance'],
    loan_status_changed: (d) => [['loans', d.loanId], 'loan-summary'],
  } satisfies EventMap
  expectTypeOf(setNudgeContext({ url: 'http://hub', getToken: null, events })).toEqualTypeOf<NudgeClient<AppEvents>>()
  setNudgeContext({ url: 'http://hub', getToken: writable<GetToken | null>(null), events })
  // @ts-expect-error not a registered event
  setNudgeContext({ url: 'http://hub', getToken: null, events: { balance_changed: ['balance'] } })
  // @ts-expect-error a token getter returns a token
  setNudgeContext({ url: 'http://hub', getToken: () => 42, events })

  useNudgeEvent('toast', (d) => {
    expectTypeOf(d).toEqualTypeOf<{ text: string; level: 'info' | 'error' }>()
  })
  // @ts-expect-error not a registered event
  useNudgeEvent('nope', () => {})
})

test('status is a store, rooms take values, stores and getters, the client is typed', () => {
  expectTypeOf(useNudgeStatus()).toEqualTypeOf<Readable<NudgeStatus>>()
  useNudgeRoom('project_42')
  useNudgeRoom(null)
  useNudgeRoom(writable<string | null>('project_42'))
  useNudgeRoom(() => 'project_42', async (room) => `token-for-${room}`)
  // @ts-expect-error a room is a string
  useNudgeRoom(42)
  expectTypeOf(useNudge()).toEqualTypeOf<NudgeClient<AppEvents>>()
})
