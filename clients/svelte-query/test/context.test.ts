// The context's lifecycle in a DOM (jsdom, Svelte's client build): one socket, status and rooms
// follow the socket, everything is released when the component is unmounted. (The behaviours
// against a real hub are in tests/conformance.)
import { flushSync, mount, unmount } from 'svelte'
import { writable } from 'svelte/store'
import { afterEach, expect, it, vi } from 'vitest'
import { fakeIo } from '../../query-core/test/fake-socket.js'
import type { GetToken } from '../src/index.js'
import Root from './fixtures/Root.svelte'

afterEach(() => {
  vi.useRealTimers()
})

const tick = async (): Promise<void> => {
  await vi.advanceTimersByTimeAsync(2)
  flushSync()
}

it('connects once, follows the socket, joins and leaves rooms, and closes on unmount', async () => {
  vi.useFakeTimers()
  const fake = fakeIo()
  const toasts: unknown[] = []
  const room = writable<string | null>('project_1')
  const getToken = writable<GetToken | null>(() => 'tok')
  const target = document.createElement('div')
  const component = mount(Root, { target, props: { io: fake.io, getToken, room, onToast: (d: unknown) => toasts.push(d) } })
  await tick()
  expect(fake.sockets).toHaveLength(1)
  const socket = fake.sockets[0]!
  socket.accept()
  await tick()
  expect(target.textContent).toBe('connected/solo')
  expect(socket.sent.filter((s) => s.event === 'nudge:subscribe').map((s) => s.args[0])).toEqual([{ room: 'project_1' }])

  socket.event('toast', { text: 'hi' })
  expect(toasts).toEqual([{ text: 'hi' }])

  room.set('project_2')
  await tick()
  expect(socket.sent.map((s) => s.event)).toContain('nudge:unsubscribe')
  expect(socket.sent.filter((s) => s.event === 'nudge:subscribe').map((s) => s.args[0])).toEqual([
    { room: 'project_1' },
    { room: 'project_2' },
  ])

  await unmount(component)
  await tick()
  expect(fake.sockets).toHaveLength(1)
  expect(socket.connected).toBe(false)
  expect(socket.listenerCount()).toBe(0)

  // Logging out: a new context whose getToken store goes to null closes its socket.
  const again = mount(Root, { target, props: { io: fake.io, getToken, room, onToast: () => {} } })
  await tick()
  const second = fake.sockets[1]!
  second.accept()
  expect(second.connected).toBe(true)
  getToken.set(null)
  await tick()
  expect(second.connected).toBe(false)
  await unmount(again)
})
