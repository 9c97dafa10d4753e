// @nudge/solid-query: the Solid binding over @nudge/query-core. <NudgeProvider> (inside
// <QueryClientProvider>) owns one connection; the primitives give components the status as an
// accessor, the events and the rooms, each cleaned up with its owner. The core is re-exported,
// so an app imports everything from here and augments `Register` on this module.
//
// Server rendering: on the server the provider creates the client but never starts it, and the
// primitives subscribe to nothing.
import {
  createNudge,
  type EventName,
  type GetSubscriptionToken,
  type GetToken,
  type NudgeClient,
  type NudgeOptions,
  type NudgeStatus,
  type RegisteredEvents,
  type SocketFactory,
} from '@nudge/query-core'
import { type QueryClient, useQueryClient } from '@tanstack/solid-query'
import {
  type Accessor,
  createComponent,
  createContext,
  createEffect,
  createSignal,
  type JSX,
  onCleanup,
  splitProps,
  useContext,
} from 'solid-js'
import { isServer } from 'solid-js/web'
import { io } from 'socket.io-client'

export * from '@nudge/query-core'

export interface NudgeProviderProps<E extends object = RegisteredEvents>
  extends Omit<NudgeOptions<E>, 'queryClient' | 'getToken' | 'io' | 'enabled'> {
  /** `null` while logged out: nothing connects, and going to `null` logs out every tab. */
  readonly getToken: GetToken | null
  /** Default: socket.io-client's `io`. */
  readonly io?: SocketFactory
  /** Default: the client of the enclosing `QueryClientProvider`. */
  readonly queryClient?: QueryClient
  readonly children?: JSX.Element
}

const NudgeContext = createContext<NudgeClient<object>>()

/**
 * Connects while `getToken` is set and invalidates the QueryClient's queries as the event map
 * says. `getToken` is read at each use (it may change); the other props once, when it mounts.
 */
export const NudgeProvider = <E extends object = RegisteredEvents>(
  props: NudgeProviderProps<E>,
): JSX.Element => {
  // `children` stays a getter: reading it here would render them outside the context.
  const [local, options] = splitProps(props, ['children', 'getToken', 'io', 'queryClient'])
  const queryClient = local.queryClient ?? useQueryClient()
  const nudge = createNudge<E>({
    ...options,
    // An app holds one @tanstack/query-core; the cast only bridges the nominal class type when
    // a workspace holds two versions of it (the core calls public methods only).
    queryClient: queryClient as unknown as NudgeOptions<E>['queryClient'],
    io: local.io ?? io,
    getToken: () => local.getToken?.(),
    enabled: false,
  })
  if (!isServer) {
    onCleanup(nudge.start())
    createEffect(() => nudge.setEnabled(local.getToken != null))
  }
  return createComponent(NudgeContext.Provider, {
    value: nudge as unknown as NudgeClient<object>,
    get children() {
      return local.children
    },
  })
}

/** The provider's client (for `resync()`, `setEnabled()`, ...); throws without a provider. */
export const useNudge = <E extends object = RegisteredEvents>(): NudgeClient<E> => {
  const nudge = useContext(NudgeContext)
  if (!nudge) throw new Error('nudge: no <NudgeProvider> above this component')
  return nudge as unknown as NudgeClient<E>
}

/** Connection state, last error and last event time, as an accessor that follows them. */
export const useNudgeStatus = (): Accessor<NudgeStatus> => {
  const nudge = useNudge()
  const [status, setStatus] = createSignal(nudge.getStatus())
  if (!isServer) onCleanup(nudge.subscribe(() => setStatus(nudge.getStatus())))
  return status
}

/** Runs `handler` for each `name` event (in every tab) while the owner lives. */
export const useNudgeEvent = <K extends EventName>(
  name: K,
  handler: (data: RegisteredEvents[K]) => void,
): void => {
  const nudge = useNudge()
  if (!isServer) onCleanup(nudge.on(name, handler))
}

/**
 * Joins `room` (a value or an accessor; `null`/`undefined` joins nothing) while the owner lives,
 * following the accessor, and re-joins after every reconnect. `getSubscriptionToken(room)` is
 * asked at every (re)join; without it the hub asks its --subscribe-hook.
 */
export const useNudgeRoom = (
  room: string | null | undefined | Accessor<string | null | undefined>,
  getSubscriptionToken?: GetSubscriptionToken,
): void => {
  const nudge = useNudge()
  createEffect(() => {
    const name = typeof room === 'function' ? room() : room
    if (name != null) onCleanup(nudge.joinRoom(name, getSubscriptionToken))
  })
}
