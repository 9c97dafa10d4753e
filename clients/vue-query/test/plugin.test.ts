// The plugin's lifecycle in a DOM (jsdom): one socket for the app, status and rooms follow the
// socket, everything is released on app.unmount(). (The behaviours against a real hub are in
// tests/conformance.)
import { QueryClient, VueQueryPlugin } from '@tanstack/vue-query'
import { afterEach, expect, it, vi } from 'vitest'
import { createApp, defineComponent, h, nextTick, ref } from 'vue'
import { fakeIo } from '../../query-core/test/fake-socket.js'
import { type GetToken, NudgePlugin, useNudgeEvent, useNudgeRoom, useNudgeStatus } from '../src/index.js'

afterEach(() => {
  vi.useRealTimers()
})

const tick = async (): Promise<void> => {
  await vi.advanceTimersByTimeAsync(1)
  await nextTick()
}

it('connects once, follows the socket, joins and leaves rooms, and closes on unmount', async () => {
  vi.useFakeTimers()
  const fake = fakeIo()
  const toasts: unknown[] = []
  const room = ref<string | null>('project_1')
  const getToken = ref<GetToken | null>(() => 'tok')
  const Page = defineComponent({
    setup() {
      const status = useNudgeStatus()
      useNudgeRoom(room)
      useNudgeEvent('toast', (data) => toasts.push(data))
      return () => h('p', { id: 'state' }, status.value.state)
    },
  })
  const root = document.createElement('div')
  const app = createApp(Page)
    .use(VueQueryPlugin, { queryClient: new QueryClient() })
    .use(NudgePlugin, { url: 'http://hub', getToken, events: {}, io: fake.io, locks: null, channel: null })
  app.mount(root)
  await tick()
  expect(fake.sockets).toHaveLength(1)
  const socket = fake.sockets[0]!
  socket.accept()
  await tick()
  expect(root.textContent).toBe('connected')
  expect(socket.sent.filter((s) => s.event === 'nudge:subscribe').map((s) => s.args[0])).toEqual([{ room: 'project_1' }])

  socket.event('toast', { text: 'hi' })
  expect(toasts).toEqual([{ text: 'hi' }])

  room.value = 'project_2'
  await tick()
  expect(socket.sent.map((s) => s.event)).toContain('nudge:unsubscribe')
  expect(socket.sent.filter((s) => s.event === 'nudge:subscribe').map((s) => s.args[0])).toEqual([
    { room: 'project_1' },
    { room: 'project_2' },
  ])

  app.unmount()
  await tick()
  expect(fake.sockets).toHaveLength(1)
  expect(socket.connected).toBe(false)
  expect(socket.listenerCount()).toBe(0)
})

it('closes the socket when getToken goes to null (logout)', async () => {
  vi.useFakeTimers()
  const fake = fakeIo()
  const getToken = ref<GetToken | null>(() => 'tok')
  const app = createApp(defineComponent({ setup: () => () => h('p') }))
    .use(VueQueryPlugin, { queryClient: new QueryClient() })
    .use(NudgePlugin, { url: 'http://hub', getToken, events: {}, io: fake.io, locks: null, channel: null })
  app.mount(document.createElement('div'))
  await tick()
  const socket = fake.sockets[0]!
  socket.accept()
  await tick()
  expect(socket.connected).toBe(true)
  getToken.value = null
  await tick()
  expect(socket.connected).toBe(false)
  app.unmount()
})
