// @nudge/angular-query: the Angular binding over @nudge/query-core. `provideNudge(options)` (next
// to TanStack's `provideTanStackQuery`) opens one connection for the application at bootstrap;
// the `injectNudge*` functions, called in an injection context (a component's fields or
// constructor), give it the status as a signal, the events and the rooms, each released with the
// injector that created it. Functions and an InjectionToken only: no decorators, so the package
// needs no Angular compiler step. The core is re-exported, so an app imports everything from
// here and augments `Register` on this module.
//
// Server rendering: on the server the client is created but never started, and nothing
// subscribes.
import {
  DestroyRef,
  type EnvironmentProviders,
  effect,
  inject,
  InjectionToken,
  isSignal,
  makeEnvironmentProviders,
  provideEnvironmentInitializer,
  type Signal,
  signal,
  untracked,
} from '@angular/core'
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
import { QueryClient } from '@tanstack/angular-query-experimental'
import { io } from 'socket.io-client'

export * from '@nudge/query-core'

export interface NudgeProviderOptions<E extends object = RegisteredEvents>
  extends Omit<NudgeOptions<E>, 'queryClient' | 'getToken' | 'io' | 'enabled'> {
  /**
   * A signal whose value is `null` while logged out: nothing connects, and going to `null` logs
   * out every tab. A plain function (or `null`) when the login never changes at runtime.
   */
  readonly getToken: Signal<GetToken | null> | GetToken | null
  /** Default: socket.io-client's `io`. */
  readonly io?: SocketFactory
  /** Default: the QueryClient of `provideTanStackQuery`. */
  readonly queryClient?: QueryClient
}

/** The application's client; `injectNudge()` is the typed way to get it. */
export const NUDGE = new InjectionToken<NudgeClient<object>>('nudge')

const inBrowser = (): boolean => typeof window !== 'undefined'

/**
 * Provides the client and connects at bootstrap while a token is set. `options` may be a factory,
 * run in the injection context (so it can `inject()` the app's auth service).
 */
export const provideNudge = <E extends object = RegisteredEvents>(
  options: NudgeProviderOptions<E> | (() => NudgeProviderOptions<E>),
): EnvironmentProviders =>
  makeEnvironmentProviders([
    {
      provide: NUDGE,
      useFactory: () => {
        const resolved = typeof options === 'function' ? options() : options
        const queryClient = resolved.queryClient ?? inject(QueryClient)
        const { getToken } = resolved
        const current = (): GetToken | null => (isSignal(getToken) ? getToken() : getToken)
        const nudge = createNudge<E>({
          ...resolved,
          // An app holds one @tanstack/query-core; the cast only bridges the nominal class type
          // when a workspace holds two versions of it (the core calls public methods only).
          queryClient: queryClient as unknown as NudgeOptions<E>['queryClient'],
          io: resolved.io ?? io,
          getToken: () => untracked(current)?.(),
          enabled: false,
        })
        if (inBrowser()) {
          inject(DestroyRef).onDestroy(nudge.start())
          effect(() => {
            const enabled = current() != null
            untracked(() => nudge.setEnabled(enabled))
          })
        }
        return nudge as unknown as NudgeClient<object>
      },
    },
    // Created at bootstrap, not at the first component that asks: events flow from the start.
    provideEnvironmentInitializer(() => {
      inject(NUDGE)
    }),
  ])

/** The application's client (for `resync()`, `setEnabled()`, ...). */
export const injectNudge = <E extends object = RegisteredEvents>(): NudgeClient<E> => {
  const nudge = inject(NUDGE, { optional: true })
  if (!nudge) throw new Error('nudge: provideNudge({ url, getToken, events }) is missing from the application providers')
  return nudge as unknown as NudgeClient<E>
}

/** Connection state, last error and last event time, as a signal. */
export const injectNudgeStatus = (): Signal<NudgeStatus> => {
  const nudge = injectNudge()
  const status = signal(nudge.getStatus())
  if (inBrowser()) inject(DestroyRef).onDestroy(nudge.subscribe(() => status.set(nudge.getStatus())))
  return status.asReadonly()
}

/** Runs `handler` for each `name` event (in every tab) until the injector is destroyed. */
export const injectNudgeEvent = <K extends EventName>(
  name: K,
  handler: (data: RegisteredEvents[K]) => void,
): void => {
  const nudge = injectNudge()
  if (inBrowser()) inject(DestroyRef).onDestroy(nudge.on(name, handler))
}

/**
 * Joins `room` (a value or a signal; `null`/`undefined` joins nothing) until the injector is
 * destroyed, following the signal, and re-joins after every reconnect.
 * `getSubscriptionToken(room)` is asked at every (re)join; without it the hub asks its
 * --subscribe-hook.
 */
export const injectNudgeRoom = (
  room: string | null | undefined | Signal<string | null | undefined>,
  getSubscriptionToken?: GetSubscriptionToken,
): void => {
  const nudge = injectNudge()
  if (!inBrowser()) return
  effect((onCleanup) => {
    const name = isSignal(room) ? room() : room
    if (name != null) onCleanup(untracked(() => nudge.joinRoom(name, getSubscriptionToken)))
  })
}
