// Type tests for app-wide typing through `Register`, augmented on this package the way an app
// does it. This file's augmentation applies to the type-test program only.
import { expectTypeOf, test } from 'vitest'
import { type App, type Ref, ref } from 'vue'
import {
  type EventMap,
  type NudgeClient,
  NudgePlugin,
  type NudgeStatus,
  type RegisteredEvents,
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

declare const app: App

test('Register types the map, the plugin and useNudgeEvent', () => {
  expectTypeOf<RegisteredEvents>().toEqualTypeOf<AppEvents>()
  const events = {
    balance_updated: ['balance'],
    loan_status_changed: (d) => [['loans', d.loanId], 'loan-summary'],
  } satisfies EventMap
  app.use(NudgePlugin, { url: 'http://hub', getToken: ref(() => 'token'), events })
  app.use(NudgePlugin, { url: 'http://hub', getToken: null, events })
  // @ts-expect-error not a registered event
  app.use(NudgePlugin, { url: 'http://hub', getToken: null, events: { balance_changed: ['balance'] } })
  // @ts-expect-error a token getter returns a token
  app.use(NudgePlugin, { url: 'http://hub', getToken: () => 42, events })

  useNudgeEvent('toast', (d) => {
    expectTypeOf(d).toEqualTypeOf<{ text: string; level: 'info' | 'error' }>()
  })
  // @ts-expect-error not a registered event
  useNudgeEvent('nope', () => {})
})

test('status is a ref, rooms take values, refs and getters, the client is typed', () => {
  expectTypeOf(useNudgeStatus()).toEqualTypeOf<Readonly<Ref<NudgeStatus>>>()
  useNudgeRoom('project_42')
  useNudgeRoom(null)
  useNudgeRoom(ref<string | null>('project_42'))
  useNudgeRoom(() => 'project_42', async (room) => `token-for-${room}`)
  // @ts-expect-error a room is a string
  useNudgeRoom(42)
  expectTypeOf(useNudge()).toEqualTypeOf<NudgeClient<AppEvents>>()
  expectTypeOf(useNudge().on('loan_status_changed', () => {})).toEqualTypeOf<() => void>()
})
