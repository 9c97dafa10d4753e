import { focusManager, type QueryClient } from '@tanstack/query-core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createInvalidator } from '../src/index.js'
import type { EventMap } from '../src/types.js'
import { FakeSocket } from './fake-socket.js'
import { newClient, recordInvalidations, seed, watch } from './helpers.js'

interface Events {
  transaction_happened: { id: number }
  balance_updated: undefined
  loan_status_changed: { loanId: number }
  profile_updated: undefined
}

const seedMap = {
  transaction_happened: ['transactions', 'balance'],
  balance_updated: ['balance'],
  loan_status_changed: ['loans', 'loan-summary'],
  profile_updated: ['profile'],
} satisfies EventMap<Events>

let client: QueryClient
let socket: FakeSocket
let onError: ReturnType<typeof vi.fn<(error: unknown) => void>>

const attach = (events: EventMap<Events>, options: { coalesceMs?: number; maxWaitMs?: number; isHidden?: () => boolean } = {}): (() => void) =>
  createInvalidator<Events>({ queryClient: client, socket: socket.typed, events, onError, ...options })

const tick = async (ms: number): Promise<void> => {
  await vi.advanceTimersByTimeAsync(ms)
}

beforeEach(() => {
  vi.useFakeTimers()
  client = newClient()
  socket = new FakeSocket('http://hub', {})
  socket.connect()
  socket.accept()
  onError = vi.fn<(error: unknown) => void>()
})
afterEach(() => {
  client.clear()
  vi.useRealTimers()
})

describe('event map forms', () => {
  it('takes the seed form unchanged: each string is the key prefix [name]', async () => {
    const tx = watch(client, ['transactions', { page: 1 }])
    const balance = watch(client, ['balance'])
    const profile = watch(client, ['profile'])
    attach(seedMap)
    await tick(20)
    expect([tx.fetches(), balance.fetches(), profile.fetches()]).toEqual([1, 1, 1])

    socket.event('transaction_happened', { id: 1 })
    await tick(100)
    expect([tx.fetches(), balance.fetches(), profile.fetches()]).toEqual([2, 2, 1])
    expect(tx.data()).toBe(2)
    expect(onError).not.toHaveBeenCalled()
  })

  it('takes full query keys, matching them as prefixes', async () => {
    const loan7 = watch(client, ['loans', 7])
    const loan7Detail = watch(client, ['loans', 7, 'detail'])
    const loan8 = watch(client, ['loans', 8])
    attach({ loan_status_changed: [['loans', 7]] })
    await tick(20)
    socket.event('loan_status_changed', { loanId: 7 })
    await tick(100)
    expect([loan7.fetches(), loan7Detail.fetches(), loan8.fetches()]).toEqual([2, 2, 1])
  })

  it('takes a function of the event data for selective invalidation', async () => {
    const loan7 = watch(client, ['loans', 7])
    const loan8 = watch(client, ['loans', 8])
    const summary = watch(client, ['loan-summary'])
    attach({ loan_status_changed: (d) => [['loans', d.loanId], 'loan-summary'] })
    await tick(20)
    socket.event('loan_status_changed', { loanId: 8 }, 'offset-123')
    await tick(100)
    expect([loan7.fetches(), loan8.fetches(), summary.fetches()]).toEqual([1, 2, 2])
  })

  it('honours per-event options: exact', async () => {
    const all = watch(client, ['loans'])
    const one = watch(client, ['loans', 7])
    attach({ loan_status_changed: { keys: ['loans'], exact: true } })
    await tick(20)
    socket.event('loan_status_changed', { loanId: 7 })
    await tick(100)
    expect([all.fetches(), one.fetches()]).toEqual([2, 1])
  })

  it("honours per-event options: refetchType 'none' only marks stale, 'all' refetches inactive queries", async () => {
    const balance = watch(client, ['balance'])
    const inactiveProfile = await seed(client, ['profile'])
    attach({
      balance_updated: { keys: ['balance'], refetchType: 'none' },
      profile_updated: { keys: ['profile'], refetchType: 'all' },
    })
    await tick(20)
    socket.event('balance_updated')
    socket.event('profile_updated')
    await tick(100)
    expect(balance.fetches()).toBe(1)
    expect(client.getQueryState(['balance'])?.isInvalidated).toBe(true)
    expect(inactiveProfile()).toBe(2)
  })

  it('ignores unmapped events and names inherited from Object.prototype', async () => {
    const balance = watch(client, ['balance'])
    attach(seedMap)
    await tick(20)
    const calls = recordInvalidations(client)
    socket.event('unknown_event', 1)
    socket.event('toString')
    socket.event('constructor')
    await tick(100)
    expect(calls).toEqual([])
    expect(balance.fetches()).toBe(1)
    expect(onError).not.toHaveBeenCalled()
  })

  it('reports a throwing or malformed map function to onError, never into the socket', async () => {
    attach({
      loan_status_changed: () => {
        throw new Error('bad map')
      },
      transaction_happened: () => 42 as unknown as string[],
    })
    expect(() => socket.event('loan_status_changed', { loanId: 1 })).not.toThrow()
    expect(() => socket.event('transaction_happened', { id: 1 })).not.toThrow()
    expect(onError).toHaveBeenCalledTimes(2)
    expect((onError.mock.calls[0]?.[0] as Error).message).toBe('bad map')
  })

  it('reports errors thrown by invalidateQueries itself', async () => {
    attach(seedMap, { coalesceMs: 0 })
    client.invalidateQueries = () => {
      throw new Error('boom')
    }
    expect(() => socket.event('balance_updated')).not.toThrow()
    expect(onError).toHaveBeenCalledWith(new Error('boom'))
  })
})

describe('coalescing', () => {
  it('turns 100 events in 10 ms into one invalidation per key', async () => {
    const tx = watch(client, ['transactions'])
    const balance = watch(client, ['balance'])
    attach(seedMap)
    await tick(20)
    const calls = recordInvalidations(client)
    for (let i = 0; i < 100; i++) {
      socket.event(i % 2 ? 'transaction_happened' : 'balance_updated', { id: i })
      if (i % 10 === 9) await tick(1)
    }
    await tick(200)
    expect(calls.map((c) => c.key)).toEqual([['balance'], ['transactions']])
    expect([tx.fetches(), balance.fetches()]).toEqual([2, 2])
  })

  it('deduplicates by prefix: [loans] covers [loans, 7]', async () => {
    const one = watch(client, ['loans', 7])
    attach({
      loan_status_changed: (d) => [['loans', d.loanId]],
      transaction_happened: ['loans'],
    })
    await tick(20)
    const calls = recordInvalidations(client)
    socket.event('loan_status_changed', { loanId: 7 })
    socket.event('transaction_happened', { id: 1 })
    await tick(100)
    expect(calls.map((c) => c.key)).toEqual([['loans']])
    expect(one.fetches()).toBe(2)
  })

  it('does not let an exact or narrower-refetching key cover others', async () => {
    attach({
      loan_status_changed: { keys: ['loans'], exact: true },
      transaction_happened: { keys: ['loans'], refetchType: 'none' },
      balance_updated: [['loans', 7]],
      profile_updated: [['loans', 7, 'x']],
    })
    const calls = recordInvalidations(client)
    socket.event('loan_status_changed', { loanId: 1 })
    socket.event('balance_updated')
    await tick(100)
    expect(calls.map((c) => c.key)).toEqual([['loans'], ['loans', 7]])
    socket.event('transaction_happened', { id: 1 })
    socket.event('profile_updated')
    await tick(100)
    expect(calls.slice(2).map((c) => [c.key, c.refetchType])).toEqual([
      [['loans'], 'none'],
      [['loans', 7, 'x'], 'active'],
    ])
  })

  it('flushes the first event of a quiet period after exactly the window', async () => {
    attach(seedMap, { coalesceMs: 50 })
    const calls = recordInvalidations(client)
    socket.event('balance_updated')
    await tick(49)
    expect(calls).toHaveLength(0)
    await tick(1)
    expect(calls).toHaveLength(1)
    // A burst that starts quiet is not extended by its later events.
    await tick(500)
    socket.event('balance_updated')
    await tick(30)
    socket.event('balance_updated')
    await tick(20)
    expect(calls).toHaveLength(2)
  })

  it('bounds a continuous stream with maxWait', async () => {
    attach(seedMap, { coalesceMs: 50, maxWaitMs: 200 })
    const calls = recordInvalidations(client)
    const start = Date.now()
    for (let t = 0; t < 2000; t += 20) {
      socket.event('balance_updated')
      await tick(20)
    }
    await tick(300)
    const times = calls.map((c) => c.at - start)
    expect(times[0]).toBe(50)
    // Every later batch is held at most maxWait after its first event (+ one 20 ms gap).
    for (let i = 1; i < times.length; i++) {
      expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeLessThanOrEqual(220)
    }
    expect(calls.length).toBeGreaterThanOrEqual(9)
    expect(calls.length).toBeLessThanOrEqual(11)
  })

  it('invalidates at once with coalesceMs 0', () => {
    attach(seedMap, { coalesceMs: 0 })
    const calls = recordInvalidations(client)
    socket.event('transaction_happened', { id: 1 })
    expect(calls.map((c) => c.key)).toEqual([['transactions'], ['balance']])
  })
})

describe('refetch after settle', () => {
  it('control: plain invalidateQueries during a first load keeps the stale answer (TanStack/query#8530)', async () => {
    let server = 'v1'
    const q = watch(client, ['profile'], { delayMs: 100, value: () => server })
    await tick(10)
    server = 'v2'
    void client.invalidateQueries({ queryKey: ['profile'] })
    await tick(500)
    expect(q.data()).toBe('v1')
    expect(q.fetches()).toBe(1)
  })

  it('an event during the first load still leads to a refetch after it', async () => {
    let server = 'v1'
    const q = watch(client, ['profile'], { delayMs: 100, value: () => server })
    attach(seedMap)
    await tick(10)
    server = 'v2'
    socket.event('profile_updated')
    await tick(60)
    expect(q.fetches()).toBe(1)
    await tick(500)
    expect(q.fetches()).toBe(2)
    expect(q.data()).toBe('v2')
    expect(q.aborts()).toBe(0)
  })

  it('lets a running refetch finish instead of cancelling it, then refetches once', async () => {
    let server = 1
    const q = watch(client, ['balance'], { delayMs: 300, value: () => server })
    attach(seedMap)
    await tick(350)
    expect(q.data()).toBe(1)
    void client.refetchQueries({ queryKey: ['balance'] })
    await tick(10)
    for (let i = 0; i < 5; i++) {
      server++
      socket.event('balance_updated')
      await tick(20)
    }
    // Both batches were flushed while the refetch ran (it started before all of them).
    await tick(2000)
    expect(q.aborts()).toBe(0)
    expect(q.fetches()).toBe(3)
    expect(q.data()).toBe(6)
  })

  it('does not refetch again when the running fetch started after the events', async () => {
    const q = watch(client, ['balance'], { delayMs: 100 })
    attach(seedMap)
    await tick(150)
    socket.event('balance_updated')
    await tick(10)
    void client.refetchQueries({ queryKey: ['balance'] })
    await tick(1000)
    expect(q.fetches()).toBe(2)
  })

  it('drops the wait when the query is removed', async () => {
    const q = watch(client, ['balance'], { delayMs: 100 })
    attach(seedMap)
    await tick(10)
    socket.event('balance_updated')
    await tick(60)
    q.stop()
    client.removeQueries({ queryKey: ['balance'] })
    await tick(500)
    expect(q.fetches()).toBe(1)
    expect(client.getQueryCache().findAll()).toHaveLength(0)
  })
})

describe('hidden tab', () => {
  it('only marks queries stale while hidden; focus refetching catches up', async () => {
    let hidden = true
    client.mount()
    const q = watch(client, ['balance'])
    attach(seedMap, { isHidden: () => hidden })
    await tick(20)
    socket.event('balance_updated')
    await tick(100)
    expect(q.fetches()).toBe(1)
    expect(client.getQueryState(['balance'])?.isInvalidated).toBe(true)

    hidden = false
    focusManager.setFocused(false)
    focusManager.setFocused(true)
    await tick(50)
    expect(q.fetches()).toBe(2)
    focusManager.setFocused(undefined)
    client.unmount()
  })
})

describe('resync', () => {
  const mapped = {
    transaction_happened: ['transactions', 'balance'],
    loan_status_changed: (d: { loanId: number }) => [['loans', d.loanId]],
    profile_updated: { keys: () => [['profile', 'me']], resync: ['profile'] },
  } satisfies EventMap<Events>

  it('after an unrecovered reconnect invalidates every mapped prefix', async () => {
    attach(mapped)
    socket.event('loan_status_changed', { loanId: 3 })
    await tick(100)
    const calls = recordInvalidations(client)
    socket.drop()
    socket.handshake()
    socket.accept({ recovered: false })
    await tick(100)
    expect(calls.map((c) => c.key)).toEqual([['transactions'], ['balance'], ['loans'], ['profile']])
  })

  it('does nothing after a recovered reconnect (the server replayed what was missed)', async () => {
    attach(mapped)
    const calls = recordInvalidations(client)
    socket.drop()
    socket.handshake()
    socket.accept({ recovered: true })
    await tick(100)
    expect(calls).toEqual([])
  })

  it('does nothing on the first connect', async () => {
    socket = new FakeSocket('http://hub', {})
    attach(mapped)
    const calls = recordInvalidations(client)
    socket.connect()
    socket.accept()
    await tick(100)
    expect(calls).toEqual([])
  })

  it('on the server-sent nudge:resync event too', async () => {
    attach(mapped)
    const calls = recordInvalidations(client)
    socket.event('nudge:resync')
    await tick(100)
    expect(calls.map((c) => c.key)).toEqual([['transactions'], ['balance'], ['profile']])
  })

  it('the disposer removes every listener it added', () => {
    const before = socket.listenerCount()
    const dispose = attach(mapped)
    expect(socket.listenerCount()).toBeGreaterThan(before)
    dispose()
    expect(socket.listenerCount()).toBe(before)
  })
})
