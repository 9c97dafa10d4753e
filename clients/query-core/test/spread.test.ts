// Spread (issue 23): one event with a window W refetches each client's keys at its own offset in
// [0, W), deterministic per tab; a user action (focus, a new observer) still fetches at once.
// Real QueryClients, the fake socket as the hub, a fake clock.
import { focusManager, type QueryClient } from '@tanstack/query-core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createInvalidator, createNudge } from '../src/index.js'
import { compareVersions, readEventArgs } from '../src/meta.js'
import { latePlace, spreadOffset, tabSeed } from '../src/spread.js'
import type { EventMap } from '../src/types.js'
import { FakeSocket, fakeIo } from './fake-socket.js'
import { newClient, watch } from './helpers.js'

interface Events {
  rates_changed: undefined
  other: undefined
}
const events = { rates_changed: ['rates'], other: ['other'] } satisfies EventMap<Events>

let client: QueryClient
let socket: FakeSocket
const tick = async (ms: number): Promise<void> => {
  await vi.advanceTimersByTimeAsync(ms)
}
const attach = (options: { isHidden?: () => boolean; spreadSeed?: string } = {}): (() => void) =>
  createInvalidator<Events>({ queryClient: client, socket: socket.typed, events, spreadSeed: 'tab-a', ...options })
const spread = (ms: number) => ({ $nudge: { s: ms } })

beforeEach(() => {
  vi.useFakeTimers()
  client = newClient()
  socket = new FakeSocket('http://hub', {})
  socket.connect()
  socket.accept()
})
afterEach(() => {
  client.clear()
  vi.unstubAllGlobals()
  vi.useRealTimers()
})

describe('meta', () => {
  it('splits data, the $nudge argument and the offset', () => {
    expect(readEventArgs([{ a: 1 }], false)).toEqual({ data: { a: 1 }, meta: {} })
    expect(readEventArgs([null, { $nudge: { v: '0/16B3748', s: 3000 } }, 'ep:4'], true)).toEqual({
      data: null,
      meta: { version: '0/16B3748', spread: 3000 },
    })
    expect(readEventArgs([{ x: 1 }, 'ep:4'], true)).toEqual({ data: { x: 1 }, meta: {} })
    // Without recovery a trailing string is data, and an object with other keys is not metadata.
    expect(readEventArgs(['text'], false)).toEqual({ data: 'text', meta: {} })
    expect(readEventArgs([{ $nudge: { s: 5 }, other: 1 }], false).meta).toEqual({})
    expect(readEventArgs([], true)).toEqual({ data: undefined, meta: {} })
    // A window the hub never sends is no window.
    for (const s of [-1, 1.5, 60_001, '3000']) expect(readEventArgs([null, { $nudge: { s } }], false).meta).toEqual({})
  })

  it('compares LSNs and decimal versions numerically', () => {
    expect(compareVersions('0/16B3748', '0/16b3748')).toBe(0)
    expect(compareVersions('0/FFFFFFFF', '1/0')).toBeLessThan(0)
    expect(compareVersions('1/0', String(2 ** 32))).toBe(0)
    expect(compareVersions('18446744073709551615', 'FFFFFFFF/FFFFFFFE')).toBeGreaterThan(0)
    expect(compareVersions('10', '9')).toBeGreaterThan(0)
    for (const bad of ['-1', '1.5', '0x10', '123456789/0', '', '1/2/3'])
      expect(() => compareVersions(bad, '1')).toThrow(/not a version/)
  })
})

describe('offset', () => {
  it('is deterministic per seed, inside the window, and spread over it', () => {
    const offsets = Array.from({ length: 1000 }, (_, i) => spreadOffset(`seed-${i}`, 3000))
    for (const [i, offset] of offsets.entries()) {
      expect(offset).toBe(spreadOffset(`seed-${i}`, 3000))
      expect(offset).toBeGreaterThanOrEqual(0)
      expect(offset).toBeLessThan(3000)
      expect(Number.isInteger(offset)).toBe(true)
    }
    // Every tenth of the window holds some clients.
    const tenths = new Set(offsets.map((o) => Math.floor(o / 300)))
    expect(tenths.size).toBe(10)
    expect(spreadOffset('x', 0)).toBe(0)
  })

  it('keeps the tab seed in sessionStorage, so a reload keeps its place', () => {
    const kept = new Map<string, string>()
    vi.stubGlobal('sessionStorage', {
      getItem: (k: string) => kept.get(k) ?? null,
      setItem: (k: string, v: string) => kept.set(k, v),
    })
    const first = tabSeed()
    expect(tabSeed()).toBe(first)
    expect([...kept.values()]).toEqual([first])
  })

  it('without storage, each client draws its own seed', () => {
    vi.stubGlobal('sessionStorage', undefined)
    expect(tabSeed()).not.toBe(tabSeed())
  })
  // 10,000 clients of a 5 s window, all reached `lag` ms late: where do they refetch? Each bin is
  // a 20th of the window (250 ms); at the window's rate a bin holds 500. The seeds look like
  // tabSeed's (random base-36 ids), from a fixed pseudo-random sequence.
  const seeds = ((): string[] => {
    let x = 12345
    return Array.from({ length: 10000 }, () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0
      return (x * 2 ** 21 + (x >>> 11)).toString(36)
    })
  })()
  const herd = (lag: number): { places: number[]; busiest: number } => {
    const places = seeds.map((seed) => {
      const offset = spreadOffset(seed, 5000)
      return offset >= lag ? offset : latePlace(offset, lag, 5000)
    })
    const bins = new Map<number, number>()
    for (const p of places) bins.set(Math.floor(p / 250), (bins.get(Math.floor(p / 250)) ?? 0) + 1)
    return { places, busiest: Math.max(...bins.values()) }
  }

  it('places a client reached late in the grace after the window, at the window rate', () => {
    // 200 ms late: the 400 clients whose places are gone fit in the grace (5000 / 16 ms).
    const { places, busiest } = herd(200)
    const late = places.filter((p) => p >= 5000)
    expect(late.length).toBe(seeds.filter((seed) => spreadOffset(seed, 5000) < 200).length)
    for (const p of late) expect(p).toBeLessThan(5000 + 5000 / 16)
    expect(busiest).toBeLessThan(500 * 1.15)
    // Its place follows from offset / lag: halfway through its late share, halfway into the grace.
    expect(latePlace(100, 200, 5000)).toBe(5000 + Math.floor(5000 / 16 / 2))
  })

  it('spreads the late clients the grace cannot hold over what is left of the window', () => {
    // 1 s late: 2,000 places are gone; the grace holds 625 of them at the window's rate, the rest
    // go after the lag. Taking what is left of the window alone would put all 10,000 in its 16
    // bins (625 each); with the grace, about 586 each.
    const { places } = herd(1000)
    for (const p of places) expect(p).toBeGreaterThanOrEqual(1000)
    for (const p of places) expect(p).toBeLessThan(5000 + 5000 / 16)
    const inGrace = places.filter((p) => p >= 5000).length
    expect(inGrace).toBeGreaterThan(550)
    expect(inGrace).toBeLessThan(700)
    expect((places.length - inGrace) / 16).toBeLessThan(600)
    // Past the window's end the place is the moment it was asked for, or earlier: now.
    expect(latePlace(3000, 6000, 5000)).toBeLessThanOrEqual(6000)
  })
})

describe('spread event', () => {
  it('marks the key stale at once and refetches it at this client offset', async () => {
    const offset = spreadOffset('tab-a', 2000)
    const q = watch(client, ['rates'])
    const other = watch(client, ['other'])
    attach()
    await tick(20)
    expect(q.fetches()).toBe(1)

    socket.event('rates_changed', null, spread(2000))
    await tick(1)
    expect(client.getQueryState(['rates'])?.isInvalidated).toBe(true)
    await tick(offset - 2)
    expect(q.fetches()).toBe(1)
    // At the offset, then the coalescing window (50 ms) and the 10 ms fetch.
    await tick(1 + 50 + 10)
    expect(q.fetches()).toBe(2)
    expect(q.data()).toBe(2)
    await tick(2000)
    expect([q.fetches(), other.fetches()]).toEqual([2, 1])
  })

  it('a newly mounted observer fetches at once, and the offset then leaves the key alone', async () => {
    const offset = spreadOffset('tab-a', 5000)
    expect(offset).toBeGreaterThan(100)
    const first = watch(client, ['rates'])
    attach()
    await tick(20)
    first.stop() // the key has no observer, as on a page that does not show it
    socket.event('rates_changed', null, spread(5000))
    await tick(1)
    const mounted = watch(client, ['rates'])
    await tick(20)
    expect(mounted.fetches()).toBe(1) // with staleTime: Infinity, only the mark makes it fetch
    await tick(5000)
    expect(mounted.fetches()).toBe(1)
  })

  it('a hidden tab does not fetch at its offset and refetches on focus', async () => {
    let hidden = true
    client.mount()
    const q = watch(client, ['rates'])
    attach({ isHidden: () => hidden })
    await tick(20)
    socket.event('rates_changed', null, spread(1000))
    await tick(1100)
    expect(q.fetches()).toBe(1)
    expect(client.getQueryState(['rates'])?.isInvalidated).toBe(true)

    hidden = false
    focusManager.setFocused(false)
    focusManager.setFocused(true)
    await tick(20)
    expect(q.fetches()).toBe(2)
    focusManager.setFocused(undefined)
    client.unmount()
  })

  it('a fetch running when the event arrives is not taken for the refetch', async () => {
    const offset = spreadOffset('tab-a', 1000)
    const q = watch(client, ['rates'], { delayMs: 500 })
    attach()
    await tick(1) // the first fetch is running (500 ms)
    socket.event('rates_changed', null, spread(1000))
    await tick(1000 + 500 + 50 + 500)
    expect(offset + 50).toBeLessThan(2000)
    expect(q.fetches()).toBe(2)
  })

  it('counts the offset from when the hub took the event, so a client reached late keeps its place', async () => {
    const offset = spreadOffset('tab-a', 4000)
    expect(offset).toBeGreaterThan(600)
    expect(offset).toBeLessThan(2000)
    const q = watch(client, ['rates'])
    attach()
    await tick(20)
    const untilRefetch = async (before: number): Promise<number> => {
      for (let waited = 1; waited <= 5000; waited++) {
        await tick(1)
        if (q.fetches() > before) return waited
      }
      throw new Error('no refetch within 5 s')
    }
    const refetchedAfter = async (meta: object): Promise<number> => {
      const before = q.fetches()
      socket.event('rates_changed', null, meta)
      return untilRefetch(before)
    }
    // The coalescing window (50 ms); a fetch is counted when it starts.
    const settle = 50
    // The event reached this client 500 ms after the hub took it: 500 ms of its offset are gone.
    expect(await refetchedAfter({ $nudge: { s: 4000, t: Date.now() - 500 } })).toBe(offset - 500 + settle)
    await tick(100)
    // Past its place already: a new one (latePlace, tested above), here in what is left of the
    // window (late by 2 × its offset: a bit less than halfway through the rest).
    const late = 2 * offset
    const replaced = latePlace(offset, late, 4000)
    expect(replaced).toBeGreaterThan(late)
    expect(replaced).toBeLessThan(late + (4000 - late) / 2)
    expect(await refetchedAfter({ $nudge: { s: 4000, t: Date.now() - late } })).toBe(replaced - late + settle)
    await tick(100)
    // Reached in time, but the timer runs late (a busy device: the clock moves, timers do not
    // run): a new place the same way (here the clock jumps by the offset, so the timer runs at
    // 2 × offset, as late as above).
    const before = q.fetches()
    socket.event('rates_changed', null, { $nudge: { s: 4000, t: Date.now() } })
    vi.setSystemTime(Date.now() + offset)
    expect(await untilRefetch(before)).toBe(offset + replaced - late + settle)
    await tick(100)
    // A lag the window cannot hold (a replay, a clock far off) or a time ahead of this clock:
    // the offset counts from arrival.
    expect(await refetchedAfter({ $nudge: { s: 4000, t: Date.now() - 4000 } })).toBe(offset + settle)
    await tick(100)
    expect(await refetchedAfter({ $nudge: { s: 4000, t: Date.now() + 300 } })).toBe(offset + settle)
  })

  it('nudge:resync with a window spreads the resync the same way', async () => {
    const offset = spreadOffset('tab-b', 4000)
    const q = watch(client, ['rates'])
    const other = watch(client, ['other'])
    attach({ spreadSeed: 'tab-b' })
    await tick(20)
    socket.event('nudge:resync', { rooms: ['all'] }, spread(4000))
    await tick(offset - 1)
    expect([q.fetches(), other.fetches()]).toEqual([1, 1])
    await tick(1 + 50 + 10)
    expect([q.fetches(), other.fetches()]).toEqual([2, 2])
  })
})

describe('createNudge', () => {
  it("spreads its own resync after an unrecovered reconnect over resyncSpreadMs, and reads the hub's $nudge argument", async () => {
    const { io, sockets } = fakeIo()
    const nudge = createNudge<Events>({
      url: 'http://hub', getToken: () => 't', io, queryClient: client, events,
      shareAcrossTabs: false, resumeListener: () => () => {}, onlineManager: null,
      spreadSeed: 'tab-c', resyncSpreadMs: 3000,
    })
    const q = watch(client, ['rates'])
    const stop = nudge.start()
    await tick(1)
    const s = sockets[0] as FakeSocket
    s.accept()
    await tick(20)
    const offset = spreadOffset('tab-c', 3000)

    s.drop()
    s.handshake()
    s.accept({ recovered: false })
    await tick(offset - 1)
    expect(q.fetches()).toBe(1)
    await tick(1 + 50 + 10)
    expect(q.fetches()).toBe(2)

    // An event with the metadata argument and an offset (the session has a pid).
    Object.assign(s, { _pid: 'ep:1:x' })
    s.event('rates_changed', null, spread(3000), 'ep:9')
    await tick(offset - 1)
    expect(q.fetches()).toBe(2)
    await tick(1 + 50 + 10)
    expect(q.fetches()).toBe(3)
    stop()
  })
})
