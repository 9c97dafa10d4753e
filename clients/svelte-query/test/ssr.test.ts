// Svelte's server build (node): the context renders without opening a socket.
import { render } from 'svelte/server'
import { readable } from 'svelte/store'
import { afterEach, expect, it, vi } from 'vitest'
import { fakeIo } from '../../query-core/test/fake-socket.js'
import Root from './fixtures/Root.svelte'

afterEach(() => {
  vi.useRealTimers()
})

it('renders on the server without browser globals and without opening a socket', async () => {
  expect(typeof window).toBe('undefined')
  // The core opens its socket a task after start(): let every pending timer run before looking.
  vi.useFakeTimers()
  const fake = fakeIo()
  const { body } = render(Root, {
    props: { io: fake.io, getToken: readable(() => 'tok'), room: readable('project_1'), onToast: () => {} },
  })
  expect(body).toContain('<p>idle/solo</p>')
  await vi.advanceTimersByTimeAsync(1000)
  expect(fake.sockets).toHaveLength(0)
})
