// The provider's lifecycle in a DOM (jsdom, Solid's browser build): one socket, status and rooms
// follow the socket, everything is released when the root is disposed. (The behaviours against
// a real hub are in tests/conformance.)
import { QueryClient, QueryClientProvider } from '@tanstack/solid-query'
import { createComponent, createRenderEffect, createSignal } from 'solid-js'
import { render } from 'solid-js/web'
import { afterEach, expect, it, vi } from 'vitest'
import { fakeIo } from '../../query-core/test/fake-socket.js'
import { type GetToken, NudgeProvider, useNudgeEvent, useNudgeRoom, useNudgeStatus } from '../src/index.js'

afterEach(() => {
  vi.useRealTimers()
})

it('connects once, follows the socket, joins and leaves rooms, and closes on dispose', async () => {
  vi.useFakeTimers()
  const fake = fakeIo()
  const toasts: unknown[] = []
  const [room, setRoom] = createSignal<string | null>('project_1')
  const [getToken, setGetToken] = createSignal<GetToken | null>(() => 'tok')
  const Page = () => {
    const status = useNudgeStatus()
    useNudgeRoom(room)
    useNudgeEvent('toast', (data) => toasts.push(data))
    const p = document.createElement('p')
    // What the JSX compiler would emit for <p>{status().state}</p>.
    createRenderEffect(() => (p.textContent = status().state))
    return p
  }
  const root = document.createElement('div')
  const dispose = render(
    () =>
      createComponent(QueryClientProvider, {
        client: new QueryClient(),
        get children() {
          return createComponent(NudgeProvider, {
            url: 'http://hub',
            get getToken() {
              return getToken()
            },
            events: {},
            io: fake.io,
            locks: null,
            channel: null,
            get children() {
              return createComponent(Page, {})
            },
          })
        },
      }),
    root,
  )
  await vi.advanceTimersByTimeAsync(2)
  expect(fake.sockets).toHaveLength(1)
  const socket = fake.sockets[0]!
  socket.accept()
  await vi.advanceTimersByTimeAsync(2)
  expect(root.textContent).toBe('connected')
  expect(socket.sent.filter((s) => s.event === 'nudge:subscribe').map((s) => s.args[0])).toEqual([{ room: 'project_1' }])

  socket.event('toast', { text: 'hi' })
  expect(toasts).toEqual([{ text: 'hi' }])

  setRoom('project_2')
  await vi.advanceTimersByTimeAsync(2)
  expect(socket.sent.map((s) => s.event)).toContain('nudge:unsubscribe')
  expect(socket.sent.filter((s) => s.event === 'nudge:subscribe').map((s) => s.args[0])).toEqual([
    { room: 'project_1' },
    { room: 'project_2' },
  ])

  dispose()
  await vi.advanceTimersByTimeAsync(2)
  expect(fake.sockets).toHaveLength(1)
  expect(socket.connected).toBe(false)
  expect(socket.listenerCount()).toBe(0)

  // Logging out: a new provider whose getToken goes to null closes its socket.
  const dispose2 = render(
    () =>
      createComponent(QueryClientProvider, {
        client: new QueryClient(),
        get children() {
          return createComponent(NudgeProvider, {
            url: 'http://hub',
            get getToken() {
              return getToken()
            },
            events: {},
            io: fake.io,
            locks: null,
            channel: null,
          })
        },
      }),
    document.createElement('div'),
  )
  await vi.advanceTimersByTimeAsync(2)
  const second = fake.sockets[1]!
  second.accept()
  expect(second.connected).toBe(true)
  setGetToken(null)
  await vi.advanceTimersByTimeAsync(2)
  expect(second.connected).toBe(false)
  dispose2()
})
