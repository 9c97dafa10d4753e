// @nudge/vue-query: the Vue binding over @nudge/query-core. `app.use(NudgePlugin, options)` opens
// one connection for the app (after VueQueryPlugin, whose QueryClient it invalidates); the
// composables give components the status, the events and the rooms. The core is re-exported, so
// an app imports everything from here and augments `Register` on this module.
//
// Server rendering: installing the plugin on the server creates the client but never starts it,
// and the composables subscribe only while a component is alive in the browser.
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
import { type QueryClient, useQueryClient } from '@tanstack/vue-query'
import { io } from 'socket.io-client'
import {
  type App,
  type InjectionKey,
  type MaybeRefOrGetter,
  type Plugin,
  type Ref,
  inject,
  isRef,
  onScopeDispose,
  shallowRef,
  toValue,
  watch,
} from 'vue'

export * from '@nudge/query-core'

export interface NudgePluginOptions<E extends object = RegisteredEvents>
  extends Omit<NudgeOptions<E>, 'queryClient' | 'getToken' | 'io' | 'enabled'> {
  /**
   * A ref whose value is `null` while logged out: nothing connects, and going to `null` logs out
   * every tab. A plain function (or `null`) when the app's login never changes at runtime.
   */
  readonly getToken: Ref<GetToken | null> | GetToken | null
  /** Default: socket.io-client's `io`. */
  readonly io?: SocketFactory
  /** Default: VueQueryPlugin's client for this app. */
  readonly queryClient?: QueryClient
}

const nudgeKey: InjectionKey<NudgeClient<object>> = Symbol('nudge')

const inBrowser = (): boolean => typeof window !== 'undefined'

/** Connects while a token is set and invalidates the app's QueryClient as the event map says. */
export const NudgePlugin: Plugin<[NudgePluginOptions]> = {
  install(app: App, options: NudgePluginOptions): void {
    const queryClient = options.queryClient ?? app.runWithContext(() => useQueryClient())
    const { getToken } = options
    const current = (): GetToken | null => (isRef(getToken) ? getToken.value : getToken)
    const nudge = createNudge({
      ...options,
      // An app holds one @tanstack/query-core; the cast only bridges the nominal class type when
      // a workspace holds two versions of it (the core calls public methods only).
      queryClient: queryClient as unknown as NudgeOptions['queryClient'],
      io: options.io ?? io,
      getToken: () => current()?.(),
      enabled: false,
    })
    app.provide(nudgeKey, nudge as unknown as NudgeClient<object>)
    if (!inBrowser()) return
    const stop = nudge.start()
    const stopWatching = watch(() => current() != null, (enabled) => nudge.setEnabled(enabled), {
      immediate: true,
    })
    app.onUnmount(() => {
      stopWatching()
      stop()
    })
  },
}

/** The app's client (for `resync()`, `setEnabled()`, ...); throws without the plugin. */
export const useNudge = <E extends object = RegisteredEvents>(): NudgeClient<E> => {
  const nudge = inject(nudgeKey, null)
  if (!nudge) throw new Error('nudge: app.use(NudgePlugin, { url, getToken, events }) is missing for this app')
  return nudge as unknown as NudgeClient<E>
}

/** Connection state, last error and last event time, as a ref that follows them. */
export const useNudgeStatus = (): Readonly<Ref<NudgeStatus>> => {
  const nudge = useNudge()
  const status = shallowRef(nudge.getStatus())
  if (inBrowser()) onScopeDispose(nudge.subscribe(() => (status.value = nudge.getStatus())))
  return status
}

/** Runs `handler` for each `name` event (in every tab) while the calling scope lives. */
export const useNudgeEvent = <K extends EventName>(
  name: MaybeRefOrGetter<K>,
  handler: (data: RegisteredEvents[K]) => void,
): void => {
  const nudge = useNudge()
  if (!inBrowser()) return
  watch(
    () => toValue(name),
    (event, _, onCleanup) => onCleanup(nudge.on(event, (data) => handler(data))),
    { immediate: true },
  )
}

/**
 * Joins `room` (a value, ref or getter; `null`/`undefined` joins nothing) while the calling scope
 * lives, following its changes, and re-joins after every reconnect. `getSubscriptionToken(room)`
 * is asked at every (re)join; without it the hub asks its --subscribe-hook.
 */
export const useNudgeRoom = (
  room: MaybeRefOrGetter<string | null | undefined>,
  getSubscriptionToken?: GetSubscriptionToken,
): void => {
  const nudge = useNudge()
  if (!inBrowser()) return
  watch(
    () => toValue(room),
    (name, _, onCleanup) => {
      if (name != null) onCleanup(nudge.joinRoom(name, getSubscriptionToken))
    },
    { immediate: true },
  )
}
