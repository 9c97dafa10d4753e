// @nudge/react-query/react: the provider and hooks, a thin layer over `createNudge`.
//
// SSR: rendering touches no browser global; sockets, locks and channels are opened in effects.
import { type QueryClient, useQueryClient } from '@tanstack/react-query'
import {
  createContext,
  createElement,
  type ReactNode,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useSyncExternalStore,
} from 'react'
import { io } from 'socket.io-client'
import { createNudge, type NudgeClient, type NudgeOptions } from '@nudge/query-core'
import type {
  EventName,
  GetSubscriptionToken,
  GetToken,
  NudgeStatus,
  RegisteredEvents,
  SocketFactory,
} from '@nudge/query-core'

export interface NudgeProviderProps<E extends object = RegisteredEvents>
  extends Omit<NudgeOptions<E>, 'queryClient' | 'getToken' | 'io' | 'enabled'> {
  /** `null` while logged out: nothing connects, and going to `null` logs out every tab. */
  readonly getToken: GetToken | null
  /** Default: socket.io-client's `io`. */
  readonly io?: SocketFactory
  /** Default: the client of the enclosing `QueryClientProvider`. */
  readonly queryClient?: QueryClient
  readonly children?: ReactNode
}

const NudgeContext = createContext<NudgeClient<object> | null>(null)

/**
 * Connects to the hub while `getToken` is set and invalidates this QueryClient's queries as the
 * event map says. Changing `url` or the QueryClient starts a new connection; other props are
 * read at each use.
 */
export const NudgeProvider = <E extends object = RegisteredEvents>(
  props: NudgeProviderProps<E>,
): ReactNode => {
  const queryClient = useQueryClient(props.queryClient)
  const [nudge, options] = useMemo(() => {
    // Disabled until the effect below sees a token: a logged-out provider never connects.
    const options = { enabled: false } as NudgeOptions<E>
    return [createNudge(options), options] as const
  }, [props.url, queryClient])
  // Declared first, so it runs before the effects below after every render.
  useEffect(() => {
    Object.assign(options, props, {
      queryClient,
      io: props.io ?? io,
      getToken: () => props.getToken?.(),
    })
  })
  useEffect(() => nudge.start(), [nudge])
  const enabled = props.getToken != null
  useEffect(() => nudge.setEnabled(enabled), [nudge, enabled])
  return createElement(NudgeContext.Provider, { value: nudge }, props.children)
}

const useNudgeClient = (): NudgeClient => {
  const nudge = useContext(NudgeContext)
  if (!nudge) throw new Error('nudge: no <NudgeProvider> above this component')
  return nudge as NudgeClient
}

/** Connection state, last error and last event time; re-renders when they change. */
export const useNudgeStatus = (): NudgeStatus => {
  const nudge = useNudgeClient()
  return useSyncExternalStore(nudge.subscribe, nudge.getStatus, nudge.getStatus)
}

/** Runs `handler` for each `name` event (in every tab), e.g. to show a toast. */
export const useNudgeEvent = <K extends EventName>(
  name: K,
  handler: (data: RegisteredEvents[K]) => void,
): void => {
  const nudge = useNudgeClient()
  const latest = useRef(handler)
  useEffect(() => {
    latest.current = handler
  })
  useEffect(() => nudge.on(name, (data) => latest.current(data)), [nudge, name])
}

/**
 * Joins `room` while the component is mounted (and `room` is not `null`/`undefined`): events
 * published to it reach this page and go through the provider's event map. Re-joins after every
 * reconnect. `getSubscriptionToken(room)` returns the proof the hub needs (a subscription token),
 * or nothing when the hub asks its --subscribe-hook; it is called at every (re)join.
 */
export const useNudgeRoom = (
  room: string | null | undefined,
  getSubscriptionToken?: GetSubscriptionToken,
): void => {
  const nudge = useNudgeClient()
  const latest = useRef(getSubscriptionToken)
  useEffect(() => {
    latest.current = getSubscriptionToken
  })
  const withToken = getSubscriptionToken !== undefined
  useEffect(() => {
    if (room == null) return undefined
    return nudge.joinRoom(room, withToken ? (name) => latest.current?.(name) : undefined)
  }, [nudge, room, withToken])
}
