// @nudge/svelte-query: the Svelte 5 binding over @nudge/query-core, as stores and component
// lifecycle functions (plain TypeScript: nothing for the app's compiler to process).
// `setNudgeContext(options)` in a component's script opens one connection for its subtree; the
// `useNudge*` functions, called while a component below initialises, give it the status (a
// readable store: `$status`), the events and the rooms, each released when it is destroyed.
// Rooms and tokens may be runes read through a getter (`() => room`) or stores. The core is
// re-exported, so an app imports everything from here and augments `Register` on this module.
//
// Server rendering: `onMount` never runs on the server, so nothing connects or subscribes there.
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
import { type QueryClient, useQueryClient } from '@tanstack/svelte-query'
import { io } from 'socket.io-client'
import { getContext, onMount, setContext } from 'svelte'
import { type Readable, readable, toStore } from 'svelte/store'

export * from '@nudge/query-core'

/** A value, a store of it, or a getter (e.g. reading `$state`) that is followed. */
export type Reactive<T> = T | Readable<T> | (() => T)

export interface NudgeContextOptions<E extends object = RegisteredEvents>
  extends Omit<NudgeOptions<E>, 'queryClient' | 'getToken' | 'io' | 'enabled'> {
  /** `null` while logged out: nothing connects, and going to `null` logs out every tab. */
  readonly getToken: GetToken | null | Readable<GetToken | null>
  /** Default: socket.io-client's `io`. */
  readonly io?: SocketFactory
  /** Default: the client of an enclosing `QueryClientProvider` (pass it when this component renders that provider). */
  readonly queryClient?: QueryClient
}

const contextKey = Symbol('nudge')

const isStore = <T>(value: unknown): value is Readable<T> =>
  typeof value === 'object' && value !== null && 'subscribe' in value

const toReadable = <T>(value: Reactive<T>): Readable<T> => {
  if (isStore<T>(value)) return value
  if (typeof value === 'function') return toStore(value as () => T)
  return readable(value)
}

/**
 * Creates the client for this component's subtree (during its initialisation), connects once it
 * is mounted while `getToken` is set, and disconnects when it is destroyed.
 */
export const setNudgeContext = <E extends object = RegisteredEvents>(
  options: NudgeContextOptions<E>,
): NudgeClient<E> => {
  const queryClient = options.queryClient ?? useQueryClient()
  // Not `toReadable`: a token getter is itself a function, so it cannot also mean "a getter".
  const tokens = isStore<GetToken | null>(options.getToken) ? options.getToken : readable(options.getToken)
  let getToken: GetToken | null = null
  const nudge = createNudge<E>({
    ...options,
    // An app holds one @tanstack/query-core; the cast only bridges the nominal class type when
    // a workspace holds two versions of it (the core calls public methods only).
    queryClient: queryClient as unknown as NudgeOptions<E>['queryClient'],
    io: options.io ?? io,
    getToken: () => getToken?.(),
    enabled: false,
  })
  setContext(contextKey, nudge)
  onMount(() => {
    const stop = nudge.start()
    const unsubscribe = tokens.subscribe((value) => {
      getToken = value
      nudge.setEnabled(value != null)
    })
    return () => {
      unsubscribe()
      stop()
    }
  })
  return nudge
}

/** The client of the nearest `setNudgeContext` (for `resync()`, `setEnabled()`, ...). */
export const useNudge = <E extends object = RegisteredEvents>(): NudgeClient<E> => {
  const nudge = getContext<NudgeClient<E> | undefined>(contextKey)
  if (!nudge) throw new Error('nudge: no setNudgeContext({ url, getToken, events }) in a component above this one')
  return nudge
}

/** Connection state, last error and last event time, as a readable store. */
export const useNudgeStatus = (): Readable<NudgeStatus> => {
  const nudge = useNudge()
  return readable(nudge.getStatus(), (set) => nudge.subscribe(() => set(nudge.getStatus())))
}

/** Runs `handler` for each `name` event (in every tab) while the component is mounted. */
export const useNudgeEvent = <K extends EventName>(
  name: K,
  handler: (data: RegisteredEvents[K]) => void,
): void => {
  const nudge = useNudge()
  onMount(() => nudge.on(name, handler))
}

/**
 * Joins `room` (a value, a store or a getter; `null`/`undefined` joins nothing) while the
 * component is mounted, following its changes, and re-joins after every reconnect.
 * `getSubscriptionToken(room)` is asked at every (re)join; without it the hub asks its
 * --subscribe-hook.
 */
export const useNudgeRoom = (
  room: Reactive<string | null | undefined>,
  getSubscriptionToken?: GetSubscriptionToken,
): void => {
  const nudge = useNudge()
  const rooms = toReadable(room)
  onMount(() => {
    let leave: (() => void) | undefined
    const unsubscribe = rooms.subscribe((name) => {
      leave?.()
      leave = name == null ? undefined : nudge.joinRoom(name, getSubscriptionToken)
    })
    return () => {
      unsubscribe()
      leave?.()
    }
  })
}
