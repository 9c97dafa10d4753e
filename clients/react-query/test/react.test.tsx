import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query'
import { act, StrictMode, type ReactNode } from 'react'
import { createRoot, type Root } from 'react-dom/client'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  NudgeProvider,
  type NudgeProviderProps,
  useNudgeEvent,
  useNudgeRoom,
  useNudgeStatus,
} from '../src/react.js'
import type { EventMap } from '../src/index.js'
import { fakeIo, type FakeSocket } from '../../query-core/test/fake-socket.js'

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean
}
globalThis.IS_REACT_ACT_ENVIRONMENT = true

const events: EventMap = {
  transaction_happened: ['transactions', 'balance'],
  balance_updated: ['balance'],
}

let fake: ReturnType<typeof fakeIo>
let client: QueryClient
let server: number
let fetches: number
let root: Root | undefined
let container: HTMLElement
let visibility: DocumentVisibilityState

const tick = async (ms = 1): Promise<void> => {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms)
  })
}

function Balance(): ReactNode {
  const { data } = useQuery({
    queryKey: ['balance'],
    queryFn: () => {
      fetches++
      const value = server
      return new Promise<number>((resolve) => setTimeout(() => resolve(value), 10))
    },
  })
  const { state } = useNudgeStatus()
  return <p>{`${state}:${data ?? '-'}`}</p>
}

type Props = Partial<NudgeProviderProps> & { children?: ReactNode; browserDefaults?: boolean }

const app = ({ browserDefaults = false, ...props }: Props = {}): ReactNode => (
  <StrictMode>
    <QueryClientProvider client={client}>
      <NudgeProvider
        url="http://hub"
        getToken={() => 'tok'}
        events={events}
        io={fake.io}
        {...(browserDefaults ? {} : { channel: null })}
        {...props}
      >
        {props.children ?? <Balance />}
      </NudgeProvider>
    </QueryClientProvider>
  </StrictMode>
)

const render = async (ui: ReactNode): Promise<void> => {
  root ??= createRoot(container)
  await act(async () => root?.render(ui))
  await tick()
}

const text = (): string => container.textContent ?? ''

const socketAt = (i: number): FakeSocket => {
  const socket = fake.sockets[i]
  if (!socket) throw new Error(`no socket #${i}`)
  return socket
}

beforeEach(() => {
  vi.useFakeTimers()
  fake = fakeIo()
  client = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } })
  server = 1
  fetches = 0
  container = document.createElement('div')
  document.body.append(container)
  visibility = 'visible'
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility })
})

afterEach(async () => {
  await act(async () => root?.unmount())
  root = undefined
  container.remove()
  client.clear()
  vi.useRealTimers()
})

describe('NudgeProvider', () => {
  it('opens one socket under StrictMode and refetches on an event without reload', async () => {
    await render(app())
    expect(fake.sockets).toHaveLength(1)
    const socket = socketAt(0)
    expect(socket.sentAuth).toEqual([{ token: 'tok', recovery: true, nudge: 1 }])
    await tick(20)
    expect(text()).toBe('connecting:1')

    await act(async () => socket.accept())
    expect(text()).toBe('connected:1')

    server = 2
    await act(async () => socket.event('balance_updated', { at: 1 }))
    await tick(100)
    expect(text()).toBe('connected:2')
    expect(fetches).toBe(2)
    expect(fake.sockets).toHaveLength(1)
    expect(socket.disconnectCalls).toBe(0)
  })

  it('does not connect without a token, and disconnects when the token goes away', async () => {
    await render(app({ getToken: null }))
    await tick(20)
    expect(fake.sockets).toHaveLength(0)
    expect(text()).toBe('idle:1')

    await render(app())
    const socket = socketAt(0)
    await act(async () => socket.accept())
    expect(text()).toBe('connected:1')

    await render(app({ getToken: null }))
    expect(socket.connected).toBe(false)
    expect(socket.listenerCount()).toBe(0)
    expect(text()).toBe('idle:1')

    await render(app({ getToken: () => 'tok2' }))
    expect(fake.sockets).toHaveLength(2)
    expect(socketAt(1).sentAuth).toEqual([{ token: 'tok2', recovery: true, nudge: 1 }])
  })

  it('uses the latest getToken on a reconnect without reopening the socket', async () => {
    await render(app())
    const socket = socketAt(0)
    await act(async () => socket.accept())
    await render(app({ getToken: () => 'refreshed' }))
    await tick(20)
    await act(async () => socket.drop())
    expect(text()).toBe('reconnecting:1')
    socket.handshake()
    await tick()
    expect(socket.sentAuth).toEqual([{ token: 'tok', recovery: true, nudge: 1 }, { token: 'refreshed', recovery: true, nudge: 1 }])
    expect(fake.sockets).toHaveLength(1)
  })

  it('closes the socket on unmount and on a url change', async () => {
    await render(app())
    await render(app({ url: 'http://other' }))
    expect(fake.sockets.map((s) => [s.url, s.connected || s.active])).toEqual([
      ['http://hub', false],
      ['http://other', true],
    ])
    await act(async () => root?.unmount())
    root = undefined
    await tick()
    expect(socketAt(1).active).toBe(false)
  })

  it('useNudgeEvent calls the latest handler with the event data', async () => {
    const seen: string[] = []
    function Toasts({ prefix }: { prefix: string }): ReactNode {
      useNudgeEvent('toast', (data) => seen.push(`${prefix}${String((data as { text: string }).text)}`))
      return null
    }
    await render(app({ children: <Toasts prefix="a:" /> }))
    const socket = socketAt(0)
    await act(async () => socket.accept())
    await act(async () => socket.event('toast', { text: 'one' }))
    await render(app({ children: <Toasts prefix="b:" /> }))
    await act(async () => socket.event('toast', { text: 'two' }))
    expect(seen).toEqual(['a:one', 'b:two'])
  })

  it('in a hidden tab only marks stale; becoming visible refetches', async () => {
    await render(app())
    const socket = socketAt(0)
    await act(async () => socket.accept())
    await tick(20)
    visibility = 'hidden'
    server = 5
    await act(async () => socket.event('balance_updated'))
    await tick(100)
    expect(text()).toBe('connected:1')
    expect(client.getQueryState(['balance'])?.isInvalidated).toBe(true)

    visibility = 'visible'
    await act(async () => window.dispatchEvent(new Event('visibilitychange')))
    await tick(100)
    expect(text()).toBe('connected:5')
  })

  it('closes on pagehide and reconnects and resyncs on pageshow from the back/forward cache', async () => {
    await render(app())
    const first = socketAt(0)
    await act(async () => first.accept())
    await tick(20)
    await act(async () => window.dispatchEvent(Object.assign(new Event('pagehide'), { persisted: true })))
    expect(first.connected).toBe(false)
    expect(text()).toBe('idle:1')

    server = 9
    await act(async () => window.dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true })))
    expect(fake.sockets).toHaveLength(2)
    await act(async () => socketAt(1).accept())
    await tick(100)
    expect(text()).toBe('connected:9')
  })

  it('falls back to its own socket with the browser defaults when Web Locks are missing', async () => {
    expect('locks' in navigator).toBe(false)
    await render(app({ browserDefaults: true }))
    expect(fake.sockets).toHaveLength(1)
    await act(async () => socketAt(0).accept())
    await tick(20)
    expect(text()).toBe('connected:1')
  })

  it('hooks outside the provider fail loudly', async () => {
    const errors: unknown[] = []
    function Lost(): ReactNode {
      useNudgeStatus()
      return null
    }
    root = createRoot(container, { onUncaughtError: (error) => errors.push(error) })
    try {
      await act(async () => root?.render(<Lost />))
    } catch (error) {
      errors.push(error)
    }
    expect(String(errors[0])).toContain('no <NudgeProvider>')
  })
})

describe('useNudgeRoom', () => {
  function ProjectPage({ id }: { id: number | null }): ReactNode {
    useNudgeRoom(id === null ? null : `project_${id}`, (room) => `token-for-${room}`)
    return <p>{`project ${id}`}</p>
  }
  const sentOf = (socket: FakeSocket, event: string): unknown[] =>
    socket.sent.filter((s) => s.event === event).map((s) => s.args[0])

  it('joins while mounted (StrictMode: once), follows the room prop, leaves on unmount', async () => {
    await render(app({ children: <ProjectPage id={42} /> }))
    const socket = socketAt(0)
    await act(async () => socket.accept())
    await tick()
    expect(sentOf(socket, 'nudge:subscribe')).toEqual([
      { room: 'project_42', token: 'token-for-project_42' },
    ])
    await render(app({ children: <ProjectPage id={43} /> }))
    await tick()
    expect(sentOf(socket, 'nudge:unsubscribe')).toEqual([{ room: 'project_42' }])
    expect(sentOf(socket, 'nudge:subscribe')).toHaveLength(2)
    await render(app({ children: <ProjectPage id={null} /> }))
    await tick()
    expect(sentOf(socket, 'nudge:unsubscribe')).toEqual([{ room: 'project_42' }, { room: 'project_43' }])
  })
})
