// provideNudge and the inject functions in a DOM (jsdom) through Angular's TestBed, zoneless:
// one socket for the application, a status signal that follows it, events, a room signal that
// leaves the old room and joins the new one, logging out, and everything released with its
// injector. (The behaviours against a real hub are in tests/conformance.)
import '@angular/compiler'
import {
  createEnvironmentInjector,
  EnvironmentInjector,
  provideZonelessChangeDetection,
  runInInjectionContext,
  signal,
} from '@angular/core'
import { TestBed } from '@angular/core/testing'
import { BrowserTestingModule, platformBrowserTesting } from '@angular/platform-browser/testing'
import { provideTanStackQuery, QueryClient } from '@tanstack/angular-query-experimental'
import { afterEach, beforeAll, expect, it, vi } from 'vitest'
import { fakeIo } from '../../query-core/test/fake-socket.js'
import {
  type GetToken,
  injectNudgeEvent,
  injectNudgeRoom,
  injectNudgeStatus,
  NUDGE,
  provideNudge,
} from '../src/index.js'

beforeAll(() => {
  TestBed.initTestEnvironment(BrowserTestingModule, platformBrowserTesting())
})

afterEach(() => {
  TestBed.resetTestingModule()
  vi.useRealTimers()
})

const subscribed = (sent: Array<{ event: string; args: unknown[] }>): unknown[] =>
  sent.filter((s) => s.event === 'nudge:subscribe').map((s) => s.args[0])

it('connects at bootstrap, follows the socket, joins and leaves rooms, releases with the injector', async () => {
  vi.useFakeTimers()
  const fake = fakeIo()
  const getToken = signal<GetToken | null>(() => 'tok')
  TestBed.configureTestingModule({
    providers: [
      provideZonelessChangeDetection(),
      provideTanStackQuery(new QueryClient()),
      provideNudge({ url: 'http://hub', getToken, events: {}, io: fake.io, locks: null, channel: null }),
    ],
  })
  const root = TestBed.inject(EnvironmentInjector)
  TestBed.tick()
  await vi.advanceTimersByTimeAsync(2)
  expect(fake.sockets).toHaveLength(1)
  const socket = fake.sockets[0]!

  const component = createEnvironmentInjector([], root)
  const room = signal<string | null>('project_1')
  const toasts: unknown[] = []
  const status = runInInjectionContext(component, () => {
    injectNudgeRoom(room)
    injectNudgeEvent('toast', (data) => toasts.push(data))
    return injectNudgeStatus()
  })
  TestBed.tick()
  socket.accept()
  await vi.advanceTimersByTimeAsync(2)
  expect(status().state).toBe('connected')
  expect(subscribed(socket.sent)).toEqual([{ room: 'project_1' }])

  socket.event('toast', { text: 'hi' })
  expect(toasts).toEqual([{ text: 'hi' }])

  room.set('project_2')
  TestBed.tick()
  await vi.advanceTimersByTimeAsync(2)
  expect(socket.sent.map((s) => s.event)).toContain('nudge:unsubscribe')
  expect(subscribed(socket.sent)).toEqual([{ room: 'project_1' }, { room: 'project_2' }])

  component.destroy()
  socket.event('toast', { text: 'after' })
  expect(toasts).toEqual([{ text: 'hi' }])
  expect(socket.sent.filter((s) => s.event === 'nudge:unsubscribe')).toHaveLength(2)

  TestBed.resetTestingModule() // the application's injector is destroyed
  await vi.advanceTimersByTimeAsync(2)
  expect(fake.sockets).toHaveLength(1)
  expect(socket.connected).toBe(false)
  expect(socket.listenerCount()).toBe(0)
})

it('closes the socket when the getToken signal goes to null (logout)', async () => {
  vi.useFakeTimers()
  const fake = fakeIo()
  const getToken = signal<GetToken | null>(() => 'tok')
  TestBed.configureTestingModule({
    providers: [
      provideZonelessChangeDetection(),
      provideTanStackQuery(new QueryClient()),
      provideNudge({ url: 'http://hub', getToken, events: {}, io: fake.io, locks: null, channel: null }),
    ],
  })
  TestBed.tick()
  await vi.advanceTimersByTimeAsync(2)
  const socket = fake.sockets[0]!
  socket.accept()
  expect(TestBed.inject(NUDGE).getStatus().state).toBe('connected')
  getToken.set(null)
  TestBed.tick()
  await vi.advanceTimersByTimeAsync(2)
  expect(socket.connected).toBe(false)
})
