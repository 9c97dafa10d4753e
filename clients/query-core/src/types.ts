// Public types of @nudge/query-core (re-exported by every binding). Type-only: this module emits no JavaScript.
//
// An event map says, for each socket event name, which React Query keys it invalidates.
// The data type of each event comes from `Register` (declaration merging, as TanStack Query's
// own `Register` does) or from an explicit type argument, so the map is typed end to end:
// event name → data type → keys.
import type { ManagerOptions, Socket, SocketOptions } from 'socket.io-client'

/** A query key or key prefix, as TanStack Query understands it. */
export type QueryKeyLike = readonly unknown[]

/** A string means the prefix `[string]` (the seed's form); an array is a full key or prefix. */
export type KeySpec = string | QueryKeyLike

export type KeyList = readonly KeySpec[]

/** Which matching queries are refetched after being marked stale; `'none'` only marks them. */
export type RefetchType = 'active' | 'inactive' | 'all' | 'none'

export interface EventOptions {
  /** Match only the exact keys, not everything below them (default `false`). */
  readonly exact?: boolean
  /** Default `'active'`, as in `invalidateQueries`. */
  readonly refetchType?: RefetchType
  /**
   * Keys to invalidate when the client resyncs after a gap. Static key lists resync their own
   * keys; a function cannot be enumerated, so without this it resyncs the top-level prefixes
   * of the keys it has returned so far.
   */
  readonly resync?: KeyList
}

/** How one event maps to keys: a list, a function of the event's data, or either with options. */
export type EventEntry<TData> =
  | KeyList
  | ((data: TData) => KeyList)
  | (EventOptions & { readonly keys: KeyList | ((data: TData) => KeyList) })

/**
 * Augment this interface to type every event once for the whole app:
 * `declare module '@nudge/react-query' { interface Register { events: MyEvents } }`
 * (or on '@nudge/query-core', '@nudge/vue-query', ...: each binding re-exports this interface,
 * so augmenting the package the app imports merges into this one declaration)
 * where `MyEvents` maps event names to the type of their data.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Register {}

/** Event names → data types: the registered ones, or any name with `unknown` data. */
export type RegisteredEvents = Register extends { events: infer E extends object }
  ? E
  : Record<string, unknown>

export type EventName<E extends object = RegisteredEvents> = keyof E & string

/** The event map: every key optional, so events used only by `useNudgeEvent` need no entry. */
export type EventMap<E extends object = RegisteredEvents> = {
  readonly [K in EventName<E>]?: EventEntry<E[K]>
}

/** The part of socket.io-client's `Socket` that nudge uses (tests pass a fake of it). */
export type SocketLike = Pick<
  Socket,
  | 'connected'
  | 'active'
  | 'recovered'
  | 'on'
  | 'off'
  | 'onAny'
  | 'offAny'
  | 'connect'
  | 'disconnect'
  | 'io'
  | 'emit'
>

export type SocketFactoryOptions = Partial<ManagerOptions & SocketOptions>

/** socket.io-client's `io`, or a stand-in with the same shape. */
export type SocketFactory = (url: string, options: SocketFactoryOptions) => SocketLike

export type Token = string | null | undefined

/** Called on every (re)connect; `null`/`undefined` means "logged out". */
export type GetToken = () => Token | Promise<Token>

/**
 * A subscription token for `room` (a short-lived JWT with `sub` and `room`, signed like the
 * connection token), asked for at every (re)join; `null`/`undefined` asks without one (the hub
 * then asks its --subscribe-hook, if it has one).
 */
export type GetSubscriptionToken = (room: string) => Token | Promise<Token>

export type ConnectionState =
  | 'idle'
  | 'connecting'
  | 'connected'
  | 'reconnecting'
  | 'disconnected'
  | 'unauthorized'

/** `solo`: this tab holds its own socket; `leader`/`follower`: one socket shared by all tabs. */
export type TabRole = 'solo' | 'leader' | 'follower'

export interface NudgeStatus {
  readonly state: ConnectionState
  readonly error: Error | null
  /** `Date.now()` when the last event reached this tab. */
  readonly lastEventAt: number | null
  readonly role: TabRole
}

export type ErrorHandler = (error: unknown) => void

/**
 * Where a server-rendered page's data stands in the hub's history: the answer of the hub's
 * `GET /api/v1/position` (`{ offset, pid }`), taken before the server read its data. The
 * client's first CONNECT resumes from it, so the hub replays what was published after it.
 */
export interface ResumePosition {
  readonly offset: string
  readonly pid: string
}

/**
 * Calls `resume` each time the app returns to the foreground; returns its own cleanup.
 * React Native: `(resume) => { const s = AppState.addEventListener('change', (state) =>
 * state === 'active' && resume()); return () => s.remove() }`.
 */
export type ResumeListener = (resume: () => void) => () => void

/** TanStack Query's `onlineManager` as nudge uses it. */
export interface OnlineManagerLike {
  subscribe(listener: (online: boolean) => void): () => void
}

/** Web Locks as nudge uses it (`navigator.locks`). */
export interface LockManagerLike {
  request(
    name: string,
    options: { signal?: AbortSignal },
    callback: (lock: unknown) => Promise<void>,
  ): Promise<unknown>
}

/** A `BroadcastChannel` as nudge uses it. */
export interface ChannelLike {
  onmessage: ((event: MessageEvent) => void) | null
  postMessage(message: unknown): void
  close(): void
}
