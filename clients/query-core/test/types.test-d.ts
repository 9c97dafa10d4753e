// Type tests with explicit event types (no `Register` needed).
import type { QueryClient } from '@tanstack/query-core'
import { io, type Socket } from 'socket.io-client'
import { describe, expectTypeOf, test } from 'vitest'
import {
  type ConnectionState,
  createInvalidator,
  createNudge,
  type EventEntry,
  type EventMap,
  type NudgeStatus,
  type SocketFactory,
  type SocketLike,
} from '../src/index.js'

interface Events {
  transaction_happened: { id: number }
  balance_updated: undefined
  loan_status_changed: { loanId: number; status: 'open' | 'closed' }
}

declare const queryClient: QueryClient
declare const socket: Socket

describe('EventMap', () => {
  test("takes the seed's map unchanged", () => {
    const seed = {
      transaction_happened: ['transactions', 'balance'],
      balance_updated: ['balance'],
    } satisfies EventMap<Events>
    expectTypeOf(seed).toExtend<EventMap<Events>>()
  })

  test('gives function entries the data type of their event', () => {
    const map: EventMap<Events> = {
      loan_status_changed: (d) => {
        expectTypeOf(d).toEqualTypeOf<{ loanId: number; status: 'open' | 'closed' }>()
        return [['loans', d.loanId], 'loan-summary']
      },
      transaction_happened: {
        keys: (d) => [['transactions', d.id]],
        exact: true,
        refetchType: 'all',
        resync: ['transactions'],
      },
    }
    expectTypeOf(map).not.toBeAny()
    expectTypeOf<EventEntry<{ id: number }>>().not.toBeAny()
  })

  test('rejects unknown events, unknown fields, non-keys and unknown options', () => {
    // @ts-expect-error not an event of the map
    const unknownEvent: EventMap<Events> = { balance_changed: ['balance'] }
    // @ts-expect-error the event's data has no `id`
    const unknownField: EventMap<Events> = { loan_status_changed: (d) => [['loans', d.id]] }
    // @ts-expect-error a key is a string or an array
    const notAKey: EventMap<Events> = { balance_updated: [42] }
    // @ts-expect-error a function must return a list of keys
    const notAList: EventMap<Events> = { balance_updated: () => 'balance' }
    // @ts-expect-error refetchType is one of TanStack's
    const badOption: EventMap<Events> = { balance_updated: { keys: ['balance'], refetchType: 'sometimes' } }
    void [unknownEvent, unknownField, notAKey, notAList, badOption]
  })
})

describe('core API', () => {
  test("socket.io-client's Socket and io fit the socket types", () => {
    expectTypeOf<Socket>().toExtend<SocketLike>()
    expectTypeOf(io).toExtend<SocketFactory>()
  })

  test('createInvalidator takes a real socket and returns its own disposer', () => {
    const dispose = createInvalidator<Events>({
      queryClient,
      socket,
      events: { loan_status_changed: (d) => [['loans', d.loanId]] },
    })
    expectTypeOf(dispose).toEqualTypeOf<() => void>()
  })

  test('createNudge types listeners by event and returns cleanups', () => {
    const nudge = createNudge<Events>({ url: 'http://hub', getToken: () => null, io, queryClient, events: {} })
    const off = nudge.on('loan_status_changed', (d) => {
      expectTypeOf(d.status).toEqualTypeOf<'open' | 'closed'>()
    })
    expectTypeOf(off).toEqualTypeOf<() => void>()
    expectTypeOf(nudge.start()).toEqualTypeOf<() => void>()
    expectTypeOf(nudge.subscribe(() => {})).toEqualTypeOf<() => void>()
    // @ts-expect-error not an event
    nudge.on('nope', () => {})
    expectTypeOf(nudge.getStatus()).toEqualTypeOf<NudgeStatus>()
    expectTypeOf<NudgeStatus['error']>().toEqualTypeOf<Error | null>()
    expectTypeOf<ConnectionState>().toEqualTypeOf<
      'idle' | 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'unauthorized'
    >()
  })

  test('getToken may be sync or async and may say "logged out"', () => {
    const options = { url: 'u', io, queryClient, events: {} }
    createNudge({ ...options, getToken: () => 'tok' })
    createNudge({ ...options, getToken: async () => null })
    // @ts-expect-error a token is a string
    createNudge({ ...options, getToken: () => 42 })
  })
})
