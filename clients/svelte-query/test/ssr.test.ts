// Svelte's server build (node): the context renders without opening a socket.
import { render } from 'svelte/server'
import { readable } from 'svelte/store'
import { expect, it } from 'vitest'
import { fakeIo } from '../../query-core/test/fake-socket.js'
import Root from './fixtures/Root.svelte'

it('renders on the server without browser globals and without opening a socket', () => {
  expect(typeof window).toBe('undefined')
  const fake = fakeIo()
  const { body } = render(Root, {
    props: { io: fake.io, getToken: readable(() => 'tok'), room: readable('project_1'), onToast: () => {} },
  })
  expect(body).toContain('<p>idle/solo</p>')
  expect(fake.sockets).toHaveLength(0)
})
