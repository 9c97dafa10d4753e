// The fetch helper of '@nudge/query-core/fresh' with a real QueryClient, the real engine
// (createInvalidator) and fake timers; the backend is a fake `fetch` that reads its data when
// the request arrives and answers `delayMs` later, as a server does.
import { QueryObserver, type QueryClient } from '@tanstack/query-core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { freshJson, isStaleResponse, nudgeFetch, StaleResponseError } from '../src/fresh.js'
import { createInvalidator } from '../src/index.js'
import { FakeSocket } from './fake-socket.js'
import { newClient } from './helpers.js'

interface Backend {
  /** The committed balance and its version (the primary). */
  balance: number
  version: number
  /** How far behind the primary a read is, in versions (a lagging replica). */
  lag: number
  /** Whether answers carry Nudge-Version. */
  versioned: boolean
  delayMs: number
  readonly requests: Array<{ url: string; min: string | null }>
  readonly history: Array<{ version: number; balance: number }>
}

const backend = (): Backend => ({
  balance: 100,
  version: 1,
  lag: 0,
  versioned: true,
  delayMs: 100,
  requests: [],
  history: [{ version: 1, balance: 100 }],
})

const commit = (b: Backend, balance: number): number => {
  b.balance = balance
  b.version++
  b.history.push({ version: b.version, balance })
  return b.version
}

const fakeFetch =
  (b: Backend): typeof fetch =>
  async (input, init) => {
    const min = new Headers(init?.headers).get('Nudge-Min-Version')
    b.requests.push({ url: String(input), min })
    const seen = Math.max(1, b.version - b.lag)
    const row = b.history.find((h) => h.version === seen) ?? { version: seen, balance: b.balance }
    const headers: Record<string, string> = b.versioned ? { 'Nudge-Version': String(row.version) } : {}
    await new Promise((resolve) => setTimeout(resolve, b.delayMs))
    return new Response(JSON.stringify(row.balance), { headers })
  }

let client: QueryClient
let socket: FakeSocket
let b: Backend
let seen: unknown[]
let stop: () => void

const tick = (ms: number): Promise<void> => vi.advanceTimersByTimeAsync(ms).then(() => {})

/** Observes ['balance'] through `queryFn` and records every data value the observer renders. */
const observe = (queryFn: (ctx: never) => Promise<unknown>): void => {
  const observer = new QueryObserver(client, { queryKey: ['balance'], queryFn: queryFn as never })
  const unsubscribe = observer.subscribe((result) => {
    if (result.data !== undefined && seen.at(-1) !== result.data) seen.push(result.data)
  })
  const detach = createInvalidator({ queryClient: client, socket: socket.typed, events: { balance_updated: ['balance'] } })
  stop = () => {
    unsubscribe()
    detach()
  }
}

/** The hub delivers the event with its version in the metadata argument. */
const publish = (version: number): void =>
  socket.event('balance_updated', null, { $nudge: { v: String(version) } })

beforeEach(() => {
  vi.useFakeTimers()
  client = newClient()
  socket = new FakeSocket('http://hub', {})
  socket.connect()
  socket.accept()
  b = backend()
  seen = []
})
afterEach(() => {
  stop()
  client.clear()
  vi.useRealTimers()
})

describe('a fetch in flight when the event arrives', () => {
  it('control: a plain query function renders the in-flight answer, older than the event', async () => {
    observe(async () => (await fakeFetch(b)('/balance')).json())
    await tick(10) // the first fetch reads 100 and is in flight
    publish(commit(b, 90))
    await tick(1000)
    expect(seen).toEqual([100, 90]) // 100 was rendered after the event that said 90
  })

  it('is never taken as the answer when the answers carry no version', async () => {
    b.versioned = false
    observe(freshJson('/balance', undefined, { fetch: fakeFetch(b) }))
    await tick(10)
    publish(commit(b, 90))
    await tick(1000)
    expect(seen).toEqual([90])
    // The first answer was thrown away, the second one (sent after the event) kept.
    expect(b.requests.length).toBeGreaterThanOrEqual(2)
  })

  it('is never taken as the answer when its version is older than the event', async () => {
    observe(freshJson('/balance', undefined, { fetch: fakeFetch(b) }))
    await tick(10)
    publish(commit(b, 90))
    await tick(1000)
    expect(seen).toEqual([90])
    expect(b.requests[1]?.min).toBe('2')
  })

  it('is the answer when its version already covers the event', async () => {
    observe(freshJson('/balance', undefined, { fetch: fakeFetch(b) }))
    await tick(150)
    expect(seen).toEqual([100])
    const version = commit(b, 90)
    void client.refetchQueries({ queryKey: ['balance'] })
    await tick(10) // the manual refetch read version 2 and is in flight
    publish(version)
    await tick(1000)
    expect(seen).toEqual([100, 90])
    // Its answer (version 2) was accepted: the only later request is the engine's refetch after
    // settle, which asks for the event's version.
    expect(b.requests.map((r) => r.min)).toEqual([null, null, '2'])
  })
})

describe('a lagging replica', () => {
  it('sends Nudge-Min-Version and refetches an older answer after a backoff until it is new enough', async () => {
    observe(freshJson('/balance', undefined, { fetch: fakeFetch(b) }))
    await tick(150)
    b.lag = 1 // the replica has not applied the next commit yet
    publish(commit(b, 90))
    await tick(300) // the refetch answered version 1: not accepted
    expect(seen).toEqual([100])
    expect(b.requests.at(-1)?.min).toBe('2')
    b.lag = 0 // applied
    await tick(1000)
    expect(seen).toEqual([100, 90])
    expect(client.getQueryState(['balance'])?.status).toBe('success')
  })

  it('gives up after `attempts` requests: the query fails with StaleResponseError and keeps its last good data', async () => {
    observe(freshJson('/balance', undefined, { fetch: fakeFetch(b), attempts: 3, backoffMs: 50 }))
    await tick(150)
    b.lag = 5
    publish(commit(b, 90))
    await tick(2000)
    const state = client.getQueryState(['balance'])
    expect(state?.status).toBe('error')
    expect(isStaleResponse(state?.error)).toBe(true)
    const error = state?.error as StaleResponseError
    expect([error.required, error.received, error.attempts]).toEqual(['2', '1', 3])
    expect(error.message).toMatch(/still older than the event/)
    expect(client.getQueryData(['balance'])).toBe(100)
    expect(seen).toEqual([100])
    expect(b.requests.length).toBe(1 + 3)
  })

  it('reads the version from a session with offsets too (recovery on)', async () => {
    ;(socket as unknown as { _pid: string })._pid = 'p1'
    observe(freshJson('/balance', undefined, { fetch: fakeFetch(b) }))
    await tick(150)
    socket.event('balance_updated', null, { $nudge: { v: String(commit(b, 90)) } }, 'e1:7')
    await tick(1000)
    expect(b.requests.at(-1)?.min).toBe('2')
    expect(seen).toEqual([100, 90])
  })
})

describe('version-keyed URLs', () => {
  it('appends nudge_v to the URL instead of the header', async () => {
    const doFetch = fakeFetch(b)
    observe((ctx) => nudgeFetch(ctx, '/balance?user=1#x', {}, { mode: 'url', fetch: doFetch }).then((r) => r.json()))
    await tick(150)
    socket.event('balance_updated', null, { $nudge: { v: '0/16B3748' } })
    b.version = 0x16b3748
    b.history.push({ version: b.version, balance: 90 })
    await tick(1000)
    expect(b.requests[0]).toEqual({ url: '/balance?user=1#x', min: null })
    expect(b.requests[1]).toEqual({ url: '/balance?user=1&nudge_v=0%2F16B3748#x', min: null })
  })
})
