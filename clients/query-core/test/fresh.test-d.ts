// Type tests of '@nudge/query-core/fresh': its helpers fit TanStack Query's query functions.
import type { QueryFunction, QueryFunctionContext } from '@tanstack/query-core'
import { describe, expectTypeOf, test } from 'vitest'
import {
  type FreshOptions,
  freshJson,
  isStaleResponse,
  nudgeFetch,
  StaleResponseError,
} from '../src/fresh.js'
import { compareVersions, type EventMeta, readEventArgs } from '../src/index.js'

describe('fresh', () => {
  test('freshJson makes a query function of the data type asked for', () => {
    const queryFn = freshJson<{ balanceCents: number }>('/api/balance')
    expectTypeOf(queryFn).toExtend<QueryFunction<{ balanceCents: number }, readonly ['balance']>>()
  })

  test('nudgeFetch takes the query function context and answers a Response', () => {
    expectTypeOf(nudgeFetch).parameter(0).toExtend<object>()
    expectTypeOf<QueryFunctionContext<readonly unknown[]>>().toExtend<Parameters<typeof nudgeFetch>[0]>()
    expectTypeOf(nudgeFetch).returns.resolves.toEqualTypeOf<Response>()
    expectTypeOf<FreshOptions['mode']>().toEqualTypeOf<'header' | 'url' | undefined>()
  })

  test('isStaleResponse narrows to StaleResponseError', () => {
    const error: unknown = new Error('x')
    if (isStaleResponse(error)) {
      expectTypeOf(error).toEqualTypeOf<StaleResponseError>()
      expectTypeOf(error.required).toEqualTypeOf<string | undefined>()
      expectTypeOf(error.received).toEqualTypeOf<string | null>()
    }
  })

  test('meta as the contract says', () => {
    expectTypeOf(readEventArgs).returns.toEqualTypeOf<{ data: unknown; meta: EventMeta }>()
    expectTypeOf(compareVersions).returns.toEqualTypeOf<number>()
    expectTypeOf<EventMeta>().toEqualTypeOf<{
      readonly version?: string
      readonly spread?: number
      readonly sentAt?: number
    }>()
  })
})
