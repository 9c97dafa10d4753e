// @vitest-environment node
import { QueryClient, VueQueryPlugin } from '@tanstack/vue-query'
import { afterEach, expect, it, vi } from 'vitest'
import { createSSRApp, defineComponent, h } from 'vue'
import { renderToString } from 'vue/server-renderer'
import { fakeIo } from '../../query-core/test/fake-socket.js'
import { NudgePlugin, useNudgeEvent, useNudgeRoom, useNudgeStatus } from '../src/index.js'

afterEach(() => {
  vi.useRealTimers()
})

it('renders on the server without browser globals and without opening a socket', async () => {
  expect(typeof window).toBe('undefined')
  // The core opens its socket a task after start(): let every pending timer run before looking.
  vi.useFakeTimers()
  const fake = fakeIo()
  const Page = defineComponent({
    setup() {
      const status = useNudgeStatus()
      useNudgeRoom('project_1')
      useNudgeEvent('toast', () => {})
      return () => h('p', `${status.value.state}/${status.value.role}`)
    },
  })
  const app = createSSRApp(Page)
    .use(VueQueryPlugin, { queryClient: new QueryClient() })
    .use(NudgePlugin, { url: 'http://hub', getToken: () => 'tok', events: {}, io: fake.io })
  expect(await renderToString(app)).toBe('<p>idle/solo</p>')
  await vi.advanceTimersByTimeAsync(1000)
  expect(fake.sockets).toHaveLength(0)
})
