import type { QueryClient } from '@tanstack/query-core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createNudge, type NudgeClient, type NudgeOptions } from '../src/index.js'
import type { EventMap, GetToken } from '../src/types.js'
import { fakeIo, type FakeSocket } from './fake-socket.js'
import { ChannelHub, FakeLocks } from './fake-tabs.js'
import { newClient, recordInvalidations, watch } from './helpers.js'

interface Events {
  transaction_happened: { id: number }
  balance_updated: undefined
  toast: { text: string }
}

const events = {
  transaction_happened: ['transactions', 'balance'],
  balance_updated: ['balance'],
} satisfies EventMap<Events>

let fake: ReturnType<typeof fakeIo>
let onError: ReturnType<typeof vi.fn<(error: unknown) => void>>
const clients: QueryClient[] = []
const stops: Array<() => void> = []

const tick = async (ms = 1): Promise<void> => {
  await vi.advanceTimersByTimeAsync(ms)
}

interface Tab {
  client: QueryClient
  nudge: NudgeClient<Events>
  stop: () => void
}

/** A started client in its own "tab" (its own QueryClient); enabled by default. */
const tab = (options: Partial<NudgeOptions<Events>> = {}): Tab => {
  const client = newClient()
  clients.push(client)
  const nudge = createNudge<Events>({
    url: 'http://hub',
    getToken: () => 't1',
    io: fake.io,
    events,
    queryClient: client,
    onError,
    locks: null,
    channel: null,
    ...options,
  })
  const stop = nudge.start()
  stops.push(stop)
  return { client, nudge, stop }
}

const only = (): FakeSocket => {
  expect(fake.sockets).toHaveLength(1)
  return fake.sockets[0] as FakeSocket
}

beforeEach(() => {
  vi.useFakeTimers()
  fake = fakeIo()
  onError = vi.fn<(error: unknown) => void>()
})
afterEach(() => {
  for (const stop of stops.splice(0)) stop()
  for (const client of clients.splice(0)) client.clear()
  vi.useRealTimers()
})

describe('connection lifecycle', () => {
  it('connects on start() by default, over WebSocket, with autoConnect off and the token from getToken', async () => {
    const nudge = createNudge<Events>({
      url: 'http://hub',
      getToken: () => 't1',
      io: fake.io,
      events,
      queryClient: newClient(),
    })
    await tick()
    expect(fake.sockets).toHaveLength(0) // construction has no side effects
    stops.push(nudge.start())
    await tick()
    const socket = only()
    expect(socket.url).toBe('http://hub')
    expect(socket.options.autoConnect).toBe(false)
    expect(socket.options.transports).toEqual(['websocket'])
    expect(socket.connectCalls).toBe(1)
    expect(socket.sentAuth).toEqual([{ token: 't1', recovery: true, nudge: 1 }])
    expect(nudge.getStatus()).toMatchObject({ state: 'connecting', role: 'solo' })
    socket.accept()
    expect(nudge.getStatus()).toMatchObject({ state: 'connected', error: null })
  })

  it('with enabled: false connects only after setEnabled(true); socketOptions win over defaults', async () => {
    const nudge = createNudge<Events>({
      url: 'http://hub',
      getToken: () => 't1',
      io: fake.io,
      events,
      queryClient: newClient(),
      enabled: false,
      socketOptions: { transports: ['polling', 'websocket'] },
    })
    stops.push(nudge.start())
    await tick()
    expect(fake.sockets).toHaveLength(0)
    expect(nudge.getStatus().state).toBe('idle')

    nudge.setEnabled(true)
    await tick()
    const socket = only()
    expect(socket.options.transports).toEqual(['polling', 'websocket'])
    expect(socket.sentAuth).toEqual([{ token: 't1', recovery: true, nudge: 1 }])
    socket.accept()
    expect(nudge.getStatus()).toMatchObject({ state: 'connected', error: null })
  })

  it('opens a single socket across start/stop/start in one task (StrictMode effects)', async () => {
    const { nudge } = tab()
    const stopAgain = nudge.start()
    stops.push(stopAgain)
    stops.shift()?.()
    await tick(10)
    const socket = only()
    expect(socket.disconnectCalls).toBe(0)
    socket.accept()
    expect(nudge.getStatus().state).toBe('connected')
  })

  it('stop closes the socket, removes its listeners and goes idle', async () => {
    const { nudge, stop } = tab()
    await tick()
    const socket = only()
    socket.accept()
    stop()
    await tick()
    expect(socket.disconnectCalls).toBe(1)
    expect(socket.connected).toBe(false)
    expect(socket.listenerCount()).toBe(0)
    expect(nudge.getStatus().state).toBe('idle')
  })

  it('asks getToken again on every reconnect and resyncs when the server did not recover', async () => {
    const tokens = ['t1', 't2', 't3']
    const { client, nudge } = tab({ getToken: () => tokens.shift() ?? null })
    await tick()
    const socket = only()
    socket.accept()
    const calls = recordInvalidations(client)

    socket.drop()
    expect(nudge.getStatus().state).toBe('reconnecting')
    socket.handshake()
    await tick()
    socket.accept({ recovered: false })
    await tick(100)
    expect(socket.sentAuth).toEqual([{ token: 't1', recovery: true, nudge: 1 }, { token: 't2', recovery: true, nudge: 1 }])
    expect(calls.map((c) => c.key)).toEqual([['transactions'], ['balance']])

    socket.drop()
    socket.handshake()
    await tick()
    socket.accept({ recovered: true })
    await tick(100)
    expect(socket.sentAuth).toEqual([{ token: 't1', recovery: true, nudge: 1 }, { token: 't2', recovery: true, nudge: 1 }, { token: 't3', recovery: true, nudge: 1 }])
    expect(calls).toHaveLength(2)
  })

  it('a recovered reconnect does not resync: the replayed events coalesce into one refetch per key', async () => {
    const { client } = tab()
    await tick()
    const socket = only()
    socket.accept()
    const calls = recordInvalidations(client)
    socket.drop()
    socket.handshake()
    await tick()
    socket.accept({ recovered: true })
    // nudged replays what was missed after the CONNECT answer; the offset is the last argument.
    for (let i = 0; i < 500; i++) socket.event('transaction_happened', { id: i }, `ep:${i}`)
    await tick(2000)
    expect(calls.map((c) => c.key)).toEqual([['transactions'], ['balance']])
  })

  it("nudge:resync before the CONNECT answer resyncs only the named rooms' events, once", async () => {
    const roomEvents = (room: string): readonly string[] | undefined =>
      room.startsWith('user_') ? ['balance_updated'] : undefined
    const { client } = tab({ roomEvents })
    await tick()
    const socket = only()
    socket.accept()
    const calls = recordInvalidations(client)
    socket.drop()
    socket.handshake()
    await tick()
    socket.event('nudge:resync', { rooms: ['user_1'] })
    socket.accept({ recovered: false })
    await tick(100)
    expect(calls.map((c) => c.key)).toEqual([['balance']])

    // A room the map does not know: every key, still once.
    socket.drop()
    socket.handshake()
    await tick()
    socket.event('nudge:resync', { rooms: ['user_1', 'team_9'] })
    socket.accept({ recovered: false })
    await tick(100)
    expect(calls.map((c) => c.key).slice(1)).toEqual([['transactions'], ['balance']])
  })

  it('on an unauthorized CONNECT_ERROR calls onAuthError and retries with backoff and a fresh token', async () => {
    let n = 0
    const onAuthError = vi.fn<(error: Error) => void>()
    const { nudge } = tab({ getToken: () => `t${++n}`, onAuthError })
    await tick()
    const socket = only()

    socket.refuse('unauthorized', { reason: 'expired' })
    expect(nudge.getStatus().state).toBe('unauthorized')
    expect(onAuthError).toHaveBeenCalledTimes(1)
    expect((onAuthError.mock.calls[0]?.[0] as Error & { data: unknown }).data).toEqual({ reason: 'expired' })
    expect(onError).not.toHaveBeenCalled()
    // First retry between 500 and 1000 ms (1 s with jitter), not before.
    await tick(499)
    expect(socket.connectCalls).toBe(1)
    await tick(501)
    expect(socket.connectCalls).toBe(2)
    expect(socket.sentAuth).toEqual([{ token: 't1', recovery: true, nudge: 1 }, { token: 't2', recovery: true, nudge: 1 }])

    socket.refuse('unauthorized', { reason: 'expired' })
    await tick(999)
    expect(socket.connectCalls).toBe(2)
    await tick(1001)
    expect(socket.connectCalls).toBe(3)

    socket.accept()
    expect(nudge.getStatus()).toMatchObject({ state: 'connected', error: null })
    // A success resets the backoff.
    socket.refuse('unauthorized', { reason: 'revoked' })
    await tick(1000)
    expect(socket.connectCalls).toBe(4)
    expect(onAuthError).toHaveBeenCalledTimes(3)
  })

  it('caps the backoff at maxMs', async () => {
    const { nudge } = tab({ backoff: { minMs: 100, maxMs: 400 } })
    await tick()
    const socket = only()
    for (let i = 0; i < 6; i++) {
      socket.refuse('unauthorized')
      await tick(400)
      expect(socket.connectCalls).toBe(i + 2)
    }
    expect(nudge.getStatus().state).toBe('unauthorized')
  })

  it('other refusals go to onError and retry too', async () => {
    const { nudge } = tab()
    await tick()
    const socket = only()
    socket.refuse('Invalid namespace')
    expect(nudge.getStatus()).toMatchObject({ state: 'disconnected' })
    expect(onError).toHaveBeenCalledWith(new Error('Invalid namespace'))
    await tick(1000)
    expect(socket.connectCalls).toBe(2)
  })

  it('leaves transport errors to socket.io-client, which reconnects by itself', async () => {
    const { nudge } = tab()
    await tick()
    const socket = only()
    socket.transportError()
    await tick(60_000)
    expect(socket.connectCalls).toBe(1)
    expect(nudge.getStatus()).toMatchObject({ state: 'connecting', error: new Error('websocket error') })
  })

  it('reconnects with backoff after the hub disconnects it', async () => {
    const { nudge } = tab()
    await tick()
    const socket = only()
    socket.accept()
    socket.serverDisconnect()
    expect(nudge.getStatus().state).toBe('reconnecting')
    await tick(1000)
    expect(socket.connectCalls).toBe(2)
  })

  it('reports reconnect_failed as disconnected', async () => {
    const { nudge } = tab()
    await tick()
    const socket = only()
    socket.accept()
    socket.drop()
    socket.io.emit('reconnect_failed')
    expect(nudge.getStatus().state).toBe('disconnected')
  })

  it('treats a missing token as unauthorized and a failing getToken as an error, retrying both', async () => {
    const results: Array<() => string | null> = [
      () => null,
      () => {
        throw new Error('refresh failed')
      },
      () => 'ok',
    ]
    const getToken: GetToken = () => (results.shift() ?? (() => 'ok'))()
    const onAuthError = vi.fn<(error: Error) => void>()
    const { nudge } = tab({ getToken, onAuthError })
    await tick()
    const socket = only()
    expect(nudge.getStatus().state).toBe('unauthorized')
    expect(socket.sentAuth).toEqual([])
    await tick(1000)
    expect(onError).toHaveBeenCalledWith(new Error('refresh failed'))
    await tick(2000)
    expect(socket.sentAuth).toEqual([{ token: 'ok', recovery: true, nudge: 1 }])
    expect(onAuthError).not.toHaveBeenCalled()
  })

  it('delivers events to listeners, tracks lastEventAt and keeps handler errors away from the socket', async () => {
    const { nudge } = tab()
    await tick()
    const socket = only()
    socket.accept()
    const seen: unknown[] = []
    const statuses: number[] = []
    const unsubscribe = nudge.subscribe(() => statuses.push(nudge.getStatus().lastEventAt ?? -1))
    const off = nudge.on('toast', (data) => seen.push(data.text))
    nudge.on('toast', () => {
      throw new Error('handler bug')
    })
    vi.setSystemTime(1_000_000)
    expect(() => socket.event('toast', { text: 'hi' }, 'offset-1')).not.toThrow()
    expect(seen).toEqual(['hi'])
    expect(nudge.getStatus().lastEventAt).toBe(1_000_000)
    expect(statuses).toEqual([1_000_000])
    expect(onError).toHaveBeenCalledWith(new Error('handler bug'))
    off()
    unsubscribe()
    socket.event('toast', { text: 'again' })
    expect(seen).toEqual(['hi'])
    expect(statuses).toEqual([1_000_000])
  })
})

describe('across tabs', () => {
  let locks: FakeLocks
  let hub: ChannelHub
  const shared = (options: Partial<NudgeOptions<Events>> = {}): Tab =>
    tab({ locks, channel: hub.channel, ...options })

  beforeEach(() => {
    locks = new FakeLocks()
    hub = new ChannelHub()
  })

  it('two tabs share one socket; both caches invalidate; the follower mirrors the status', async () => {
    const a = shared()
    await tick()
    const b = shared()
    await tick()
    const socket = only()
    expect(a.nudge.getStatus().role).toBe('leader')
    expect(b.nudge.getStatus()).toMatchObject({ role: 'follower', state: 'connecting' })
    socket.accept()
    await tick()
    expect(b.nudge.getStatus()).toMatchObject({ role: 'follower', state: 'connected' })

    const qa = watch(a.client, ['balance'])
    const qb = watch(b.client, ['balance'])
    const toasts: string[] = []
    b.nudge.on('toast', (d) => toasts.push(d.text))
    await tick(20)
    socket.event('balance_updated')
    socket.event('toast', { text: 'saved' })
    await tick(100)
    expect([qa.fetches(), qb.fetches()]).toEqual([2, 2])
    expect(toasts).toEqual(['saved'])
    expect(b.nudge.getStatus().lastEventAt).not.toBeNull()
    expect(fake.sockets).toHaveLength(1)
  })

  it('a tab that joins later learns the status from the leader', async () => {
    const a = shared()
    await tick()
    only().accept()
    const b = shared()
    await tick(10)
    expect(a.nudge.getStatus().state).toBe('connected')
    expect(b.nudge.getStatus()).toMatchObject({ role: 'follower', state: 'connected' })
  })

  it('when the leader tab closes another takes over within 1 s and resyncs every tab', async () => {
    const a = shared()
    await tick()
    const b = shared()
    const c = shared()
    await tick()
    const first = only()
    first.accept()
    await tick()
    const bCalls = recordInvalidations(b.client)
    const cCalls = recordInvalidations(c.client)

    a.stop()
    await tick(1000)
    expect(first.connected).toBe(false)
    expect(fake.sockets).toHaveLength(2)
    expect(b.nudge.getStatus().role).toBe('leader')
    expect(c.nudge.getStatus().role).toBe('follower')
    const second = fake.sockets[1] as FakeSocket
    expect(second.sentAuth).toEqual([{ token: 't1', recovery: true, nudge: 1 }])
    second.accept()
    await tick(100)
    // Events may have been missed between the two sockets: every tab resyncs.
    expect(bCalls.map((x) => x.key)).toEqual([['transactions'], ['balance']])
    expect(cCalls.map((x) => x.key)).toEqual([['transactions'], ['balance']])
    expect(c.nudge.getStatus().state).toBe('connected')

    const qc = watch(c.client, ['balance'])
    await tick(20)
    second.event('balance_updated')
    await tick(100)
    expect(qc.fetches()).toBe(2)
  })

  it("the leader's unrecovered reconnect makes the followers resync too", async () => {
    const a = shared()
    await tick()
    const b = shared()
    await tick()
    const socket = only()
    socket.accept()
    await tick()
    const calls = recordInvalidations(b.client)
    socket.drop()
    socket.handshake()
    await tick()
    socket.accept()
    await tick(100)
    expect(calls.map((x) => x.key)).toEqual([['transactions'], ['balance']])
    expect(a.nudge.getStatus().state).toBe('connected')
  })

  it('a tab that stops while waiting leaves the queue and never opens a socket', async () => {
    const a = shared()
    await tick()
    const b = shared()
    await tick()
    expect(locks.waiting('nudge:http://hub')).toBe(1)
    b.stop()
    await tick()
    expect(locks.waiting('nudge:http://hub')).toBe(0)
    a.stop()
    await tick(1000)
    expect(fake.sockets).toHaveLength(1)
    expect(locks.held('nudge:http://hub')).toBe(false)
    expect(hub.openCount()).toBe(0)
  })

  it('logout disconnects at once and tells the other tabs, which disconnect and call onLogout', async () => {
    const onLogout = vi.fn<() => void>()
    const a = shared()
    await tick()
    const b = shared({ onLogout })
    await tick()
    const socket = only()
    socket.accept()
    await tick()

    b.nudge.setEnabled(false)
    expect(b.nudge.getStatus().state).toBe('idle')
    await tick()
    expect(onLogout).not.toHaveBeenCalled()
    expect(a.nudge.getStatus().state).toBe('idle')
    expect(socket.connected).toBe(false)
    expect(locks.held('nudge:http://hub')).toBe(false)
    await tick(5000)
    expect(fake.sockets).toHaveLength(1)

    // The leader logging out tells the followers too.
    a.nudge.setEnabled(true)
    b.nudge.setEnabled(true)
    await tick()
    expect(fake.sockets).toHaveLength(2)
    const again = fake.sockets[1] as FakeSocket
    again.accept()
    const leader = a.nudge.getStatus().role === 'leader' ? a : b
    const follower = leader === a ? b : a
    leader.nudge.setEnabled(false)
    expect(again.connected).toBe(false)
    await tick()
    expect(follower.nudge.getStatus().state).toBe('idle')
    await tick(5000)
    expect(fake.sockets).toHaveLength(2)
  })

  it('a logout tells other tabs even when each has its own socket', async () => {
    const onLogout = vi.fn<() => void>()
    const a = shared({ shareAcrossTabs: false })
    const b = shared({ shareAcrossTabs: false, onLogout })
    await tick()
    expect(fake.sockets).toHaveLength(2)
    a.nudge.setEnabled(false)
    await tick()
    expect(onLogout).toHaveBeenCalledTimes(1)
    expect(fake.sockets.map((s) => s.disconnectCalls)).toEqual([1, 1])
    expect(b.nudge.getStatus().state).toBe('idle')
  })

  it('falls back to one socket per tab without Web Locks', async () => {
    const a = tab({ locks: null, channel: hub.channel })
    const b = tab({ locks: null, channel: hub.channel })
    await tick()
    expect(fake.sockets).toHaveLength(2)
    expect([a.nudge.getStatus().role, b.nudge.getStatus().role]).toEqual(['solo', 'solo'])
    // Solo tabs ignore events relayed by others: their own socket brings them.
    const qb = watch(b.client, ['balance'])
    await tick(20)
    fake.sockets[0]?.accept()
    fake.sockets[0]?.event('balance_updated')
    await tick(100)
    expect(qb.fetches()).toBe(1)
  })

  it('a hidden follower only marks its queries stale', async () => {
    shared()
    await tick()
    const b = shared({ isHidden: () => true })
    await tick()
    const socket = only()
    socket.accept()
    const qb = watch(b.client, ['balance'])
    await tick(20)
    socket.event('balance_updated')
    await tick(100)
    expect(qb.fetches()).toBe(1)
    expect(b.client.getQueryState(['balance'])?.isInvalidated).toBe(true)
  })
})

describe('rooms (joinRoom)', () => {
  const subscribes = (socket: FakeSocket, event = 'nudge:subscribe'): unknown[] =>
    socket.sent.filter((s) => s.event === event).map((s) => s.args[0])
  const ack = (socket: FakeSocket, index: number, answer: unknown): void => {
    const sent = socket.sent.filter((s) => s.event === 'nudge:subscribe')[index]
    ;(sent?.args[1] as (a: unknown) => void)(answer)
  }

  it('joins when connected, with the subscription token, re-joins after a reconnect, leaves on cleanup', async () => {
    const { nudge } = tab()
    await tick()
    const socket = only()
    const tokens: string[] = []
    const leave = nudge.joinRoom('project_42', (room) => {
      tokens.push(room)
      return `sub-${tokens.length}`
    })
    await tick()
    expect(subscribes(socket)).toEqual([]) // not connected yet: joined at connect
    socket.accept()
    await tick()
    expect(subscribes(socket)).toEqual([{ room: 'project_42', token: 'sub-1' }])
    ack(socket, 0, { ok: true })

    socket.drop()
    socket.handshake()
    socket.accept()
    await tick()
    expect(subscribes(socket)).toEqual([
      { room: 'project_42', token: 'sub-1' },
      { room: 'project_42', token: 'sub-2' }, // a fresh token for every join
    ])
    leave()
    leave() // idempotent
    expect(subscribes(socket, 'nudge:unsubscribe')).toEqual([{ room: 'project_42' }])
    expect(onError).not.toHaveBeenCalled()
  })

  it('counts holders: the room is left when the last one cleans up; no token asks without one', async () => {
    const { nudge } = tab()
    await tick()
    const socket = only()
    socket.accept()
    const first = nudge.joinRoom('team_7')
    const second = nudge.joinRoom('team_7')
    await tick()
    expect(subscribes(socket)).toEqual([{ room: 'team_7' }])
    first()
    expect(subscribes(socket, 'nudge:unsubscribe')).toEqual([])
    second()
    expect(subscribes(socket, 'nudge:unsubscribe')).toEqual([{ room: 'team_7' }])
  })

  it('a refused join goes to onError with the hub\'s code; events of the room use the event map', async () => {
    const { nudge, client } = tab()
    await tick()
    const socket = only()
    socket.accept()
    nudge.joinRoom('project_42')
    await tick()
    ack(socket, 0, { ok: false, error: { code: 'forbidden', message: 'no proof' } })
    expect(onError).toHaveBeenCalledTimes(1)
    expect(String(onError.mock.calls[0]?.[0])).toMatch(/project_42.*forbidden \(no proof\)/)
    const calls = recordInvalidations(client)
    socket.event('balance_updated')
    await tick(100)
    expect(calls.map((c) => c.key)).toEqual([['balance']])
  })

  it('a follower tab\'s rooms are joined by the leader\'s socket, and again after it reconnects', async () => {
    const locks = new FakeLocks()
    const hub = new ChannelHub()
    tab({ locks, channel: hub.channel })
    await tick()
    const b = tab({ locks, channel: hub.channel })
    await tick()
    const socket = only()
    socket.accept()
    await tick()
    expect(b.nudge.getStatus().role).toBe('follower')
    const leave = b.nudge.joinRoom('project_42', () => 'sub-b')
    await tick(10)
    expect(subscribes(socket)).toEqual([{ room: 'project_42', token: 'sub-b' }])
    socket.drop()
    socket.handshake()
    socket.accept()
    await tick(10)
    expect(subscribes(socket)).toHaveLength(2)
    leave()
    await tick(10)
    expect(subscribes(socket, 'nudge:unsubscribe')).toEqual([{ room: 'project_42' }])
  })
})
