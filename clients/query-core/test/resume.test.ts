// Back to the foreground or back online: a connected socket is probed and a dropped one
// reconnects at once (no ping timeout, no backoff), then recovers like any reconnect; and a
// server render's position rides in the first CONNECT only.
import type { QueryClient } from '@tanstack/query-core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createNudge, type NudgeOptions } from '../src/index.js'
import type { EventMap, OnlineManagerLike } from '../src/types.js'
import { fakeIo, type FakeSocket } from './fake-socket.js'
import { ChannelHub, FakeLocks } from './fake-tabs.js'
import { newClient, recordInvalidations } from './helpers.js'

interface Events {
  balance_updated: undefined
}
const events = { balance_updated: ['balance'] } satisfies EventMap<Events>

let fake: ReturnType<typeof fakeIo>
const stops: Array<() => void> = []
const clients: QueryClient[] = []
const tick = async (ms = 1): Promise<void> => {
  await vi.advanceTimersByTimeAsync(ms)
}

/** A started client whose "foreground" signal the test fires with `resume()`. */
const start = async (options: Partial<NudgeOptions<Events>> = {}) => {
  let fire: (() => void) | undefined
  const detach = vi.fn()
  const client = newClient()
  clients.push(client)
  const nudge = createNudge<Events>({
    url: 'http://hub',
    getToken: () => 't1',
    io: fake.io,
    events,
    queryClient: client,
    locks: null,
    channel: null,
    onlineManager: null,
    resumeListener: (resume) => {
      fire = resume
      return detach
    },
    ...options,
  })
  const stop = nudge.start()
  stops.push(stop)
  await tick()
  const socket = fake.sockets[0] as FakeSocket
  socket.accept()
  return { nudge, client, socket, stop, detach, resume: () => fire?.() }
}

/** The probes sent so far, with their ack callbacks. */
const probes = (socket: FakeSocket) => socket.sent.filter((s) => s.event === 'nudge:probe')

beforeEach(() => {
  vi.useFakeTimers()
  fake = fakeIo()
})
afterEach(() => {
  for (const stop of stops.splice(0)) stop()
  for (const client of clients.splice(0)) client.clear()
  vi.useRealTimers()
})

describe('resume', () => {
  it('probes a connected socket; an answered probe changes nothing', async () => {
    const { nudge, socket, resume } = await start()
    resume()
    resume() // one probe at a time
    expect(probes(socket)).toHaveLength(1)
    const ack = probes(socket)[0]?.args.at(-1) as () => void
    ack()
    await tick(5000)
    expect(socket.disconnectCalls).toBe(0)
    expect(nudge.getStatus().state).toBe('connected')
  })

  it('an unanswered probe reconnects after probeTimeoutMs, and the recovered reconnect refetches nothing', async () => {
    const { nudge, client, socket, resume } = await start({ probeTimeoutMs: 300 })
    const calls = recordInvalidations(client)
    resume()
    await tick(299)
    expect(socket.disconnectCalls).toBe(0)
    await tick(1)
    expect(socket.disconnectCalls).toBe(1)
    expect(socket.connectCalls).toBe(2)
    expect(nudge.getStatus().state).toBe('reconnecting')
    await tick()
    expect(socket.sentAuth).toHaveLength(2)
    socket.accept({ recovered: true })
    expect(nudge.getStatus().state).toBe('connected')
    await tick(1000)
    expect(calls).toEqual([])
  })

  it('an unanswered probe whose reconnect is not recovered resyncs once', async () => {
    const { client, socket, resume } = await start({ probeTimeoutMs: 300 })
    const calls = recordInvalidations(client)
    resume()
    await tick(300)
    await tick()
    socket.accept({ recovered: false })
    await tick(1000)
    expect(calls.map((c) => c.key)).toEqual([['balance']])
  })

  it('a dropped socket waiting out its backoff reconnects at once', async () => {
    const { nudge, socket, resume } = await start()
    socket.drop()
    expect(nudge.getStatus().state).toBe('reconnecting')
    resume()
    expect(socket.disconnectCalls).toBe(1)
    expect(socket.connectCalls).toBe(2)
    expect(probes(socket)).toHaveLength(0)
    resume() // already reconnecting: nothing more
    expect(socket.connectCalls).toBe(2)
    // The attempt fails (hub still down): the next resume tries again.
    socket.transportError()
    resume()
    expect(socket.connectCalls).toBe(3)
    await tick()
    socket.accept({ recovered: true })
    expect(nudge.getStatus().state).toBe('connected')
  })

  it('keeps the backoff the hub asked for (io server disconnect, refused CONNECT)', async () => {
    const { socket, resume } = await start()
    socket.serverDisconnect()
    const connects = socket.connectCalls
    resume()
    expect(socket.connectCalls).toBe(connects)
    expect(probes(socket)).toHaveLength(0)
  })

  it('back online resumes through the onlineManager; stop detaches both listeners', async () => {
    const listeners = new Set<(online: boolean) => void>()
    const online: OnlineManagerLike = {
      subscribe: (listener) => {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
    }
    const { socket, stop, detach } = await start({ onlineManager: online })
    socket.drop()
    for (const l of listeners) l(false)
    expect(socket.connectCalls).toBe(1)
    for (const l of listeners) l(true)
    expect(socket.connectCalls).toBe(2)
    stop()
    expect(listeners.size).toBe(0)
    expect(detach).toHaveBeenCalledOnce()
  })

  it('resume() is public: a React Native AppState listener may call it directly', async () => {
    const { nudge, socket } = await start({ resumeListener: () => () => undefined })
    socket.drop()
    nudge.resume()
    expect(socket.connectCalls).toBe(2)
  })
})

describe('resume across tabs', () => {
  it("a follower tab coming back asks the leader's socket to resume", async () => {
    const locks = new FakeLocks()
    const hub = new ChannelHub()
    const fires: Array<() => void> = []
    const started = () => {
      const client = newClient()
      clients.push(client)
      const nudge = createNudge<Events>({
        url: 'http://hub', getToken: () => 't1', io: fake.io, events, queryClient: client,
        locks, channel: hub.channel, onlineManager: null,
        resumeListener: (resume) => {
          fires.push(resume)
          return () => undefined
        },
      })
      stops.push(nudge.start())
      return nudge
    }
    const leader = started()
    await tick()
    const follower = started()
    await tick()
    const socket = fake.sockets[0] as FakeSocket
    expect(fake.sockets).toHaveLength(1)
    socket.accept()
    await tick()
    expect([leader.getStatus().role, follower.getStatus().role]).toEqual(['leader', 'follower'])
    socket.drop()
    fires[1]?.() // the follower's page became visible
    await tick()
    expect(socket.connectCalls).toBe(2)
  })
})

describe('resumeFrom (server rendering)', () => {
  it('the first CONNECT carries the position; reconnects carry socket.io-client\'s own', async () => {
    const position = { offset: 'ep:7', pid: 'ep:7:abc' }
    const { socket } = await start({ resumeFrom: position })
    expect(socket.sentAuth[0]).toEqual({ token: 't1', pid: 'ep:7:abc', offset: 'ep:7', recovery: true, nudge: 1 })
    socket.drop()
    socket.handshake()
    await tick()
    expect(socket.sentAuth[1]).toEqual({ token: 't1', recovery: true, nudge: 1 })
  })

  it('a refused first CONNECT keeps the position for the retry', async () => {
    const position = { offset: 'ep:7', pid: 'ep:7:abc' }
    const client = newClient()
    clients.push(client)
    const nudge = createNudge<Events>({
      url: 'http://hub', getToken: () => 't1', io: fake.io, events, queryClient: client,
      locks: null, channel: null, onlineManager: null, onError: () => undefined,
      resumeListener: () => () => undefined, resumeFrom: position, backoff: { minMs: 10, maxMs: 10 },
    })
    stops.push(nudge.start())
    await tick()
    const socket = fake.sockets[0] as FakeSocket
    socket.refuse('unauthorized')
    await tick(20)
    expect(socket.sentAuth).toHaveLength(2)
    expect(socket.sentAuth[1]).toEqual({ token: 't1', pid: 'ep:7:abc', offset: 'ep:7', recovery: true, nudge: 1 })
  })

  it('the first connect resyncs nothing; replayed events invalidate exactly their keys', async () => {
    const client = newClient()
    const calls = recordInvalidations(client)
    const { socket } = await start({ queryClient: client, resumeFrom: { offset: 'e:1', pid: 'e:1:x' } })
    await tick(1000)
    expect(calls).toEqual([])
    socket.event('balance_updated', undefined, 'e:2')
    await tick(100)
    expect(calls.map((c) => c.key)).toEqual([['balance']])
  })
})
