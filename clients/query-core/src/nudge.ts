// createNudge: one connection to the hub for one QueryClient — socket lifecycle, auth, status,
// event listeners and sharing one socket among the tabs of a browser.
//
// Contract:
// - Construction has no side effects and touches no browser global, so it is SSR-safe and may
//   run twice under StrictMode. `start()` (an effect) attaches to the page and returns `stop`.
// - Opening is deferred by a task and closing on `stop` too, so start/stop/start in one task
//   (StrictMode's double effects, Fast Refresh) opens one socket, never two.
// - Errors go to `onError` (default `console.error`); nothing is thrown into the socket's or
//   the channel's emitter.
// - With `shareAcrossTabs` (default) and both Web Locks and BroadcastChannel present, the tab
//   holding the lock `nudge:<url>` owns the socket and relays every event and its status to the
//   other tabs, which invalidate their own caches. Otherwise each tab has its own socket.
// - Back in the foreground (`resumeListener`) or back online (`onlineManager`), a connected
//   socket is probed and a dropped one reconnects at once, instead of waiting for the ping
//   timeout or the reconnection backoff; the reconnect recovers like any other.
import { onlineManager } from '@tanstack/query-core'
import { createInvalidation, type InvalidationOptions, reporter } from './invalidation.js'
import { pageResumeListener } from './resume.js'
import { elect } from './tabs.js'
import type {
  ChannelLike,
  ConnectionState,
  EventName,
  GetSubscriptionToken,
  GetToken,
  LockManagerLike,
  NudgeStatus,
  OnlineManagerLike,
  RegisteredEvents,
  ResumeListener,
  ResumePosition,
  SocketFactory,
  SocketFactoryOptions,
  SocketLike,
  Token,
} from './types.js'

export interface NudgeOptions<E extends object = RegisteredEvents> extends InvalidationOptions<E> {
  readonly url: string
  /** Called on every (re)connect, so a refreshed token is always used. */
  readonly getToken: GetToken
  /** socket.io-client's `io` (the React provider passes it by default). */
  readonly io: SocketFactory
  /**
   * Passed to `io`; nudge sets `autoConnect: false` and `auth`, and `transports` defaults to
   * `['websocket']`: one connection, no request per event, no sticky routing. nudged also
   * serves long-polling (`['polling', 'websocket']` works where WebSockets are blocked).
   */
  readonly socketOptions?: SocketFactoryOptions
  /** One socket per browser instead of per tab, where supported (default `true`). */
  readonly shareAcrossTabs?: boolean
  /** The hub refused the token (CONNECT_ERROR `unauthorized`); nudge retries with backoff. */
  readonly onAuthError?: (error: Error) => void
  /**
   * Connect once started (default `true`). `false` while there is no token yet (logged out):
   * nothing connects until `setEnabled(true)`.
   */
  readonly enabled?: boolean
  /** Another tab logged out; this one has disconnected and waits for `setEnabled(true)`. */
  readonly onLogout?: () => void
  /** Backoff after a refused connect: from `minMs` (1000) doubling up to `maxMs` (30000). */
  readonly backoff?: { readonly minMs?: number; readonly maxMs?: number }
  /** Web Locks; default `navigator.locks`. `null` disables sharing. */
  readonly locks?: LockManagerLike | null
  /** BroadcastChannel factory; default `new BroadcastChannel(name)`. `null` disables sharing. */
  readonly channel?: ((name: string) => ChannelLike) | null
  /**
   * The position a server render embedded (the hub's `GET /api/v1/position`, taken before the
   * render read its data). The first CONNECT resumes from it: events published since then are
   * replayed and invalidate exactly their keys, and nothing else is refetched.
   */
  readonly resumeFrom?: ResumePosition | null
  /** Returns to the foreground; default: `visibilitychange` to visible and `pageshow`. */
  readonly resumeListener?: ResumeListener
  /** Back online resumes too; default TanStack Query's `onlineManager`, `null` to ignore. */
  readonly onlineManager?: OnlineManagerLike | null
  /** How long a resume's probe waits for the hub's answer before reconnecting (default 1000). */
  readonly probeTimeoutMs?: number
}

export interface NudgeClient<E extends object = RegisteredEvents> {
  /** Attaches to the page and connects when enabled; returns its own cleanup. */
  start(): () => void
  /**
   * `true` when a token is available (the initial value is the `enabled` option); going `false`
   * disconnects and tells the other tabs.
   */
  setEnabled(enabled: boolean): void
  getStatus(): NudgeStatus
  /** For `useSyncExternalStore`: returns its own cleanup. */
  subscribe(listener: () => void): () => void
  /** Listens to one event (in every tab); returns its own cleanup. */
  on<K extends EventName<E>>(name: K, handler: (data: E[K]) => void): () => void
  /** Invalidates every key the event map can produce. */
  resync(): void
  /**
   * Joins `room` (nudge:subscribe) while the returned cleanup has not run: now if connected,
   * again after every reconnect (with a fresh token from `getSubscriptionToken`). Events of the
   * room go through the same event map. Joins are counted: the room is left (nudge:unsubscribe)
   * when the last holder cleans up. A refused join goes to `onError`. With tabs sharing one
   * socket, a follower tab's rooms are joined by the leader's socket.
   */
  joinRoom(room: string, getSubscriptionToken?: GetSubscriptionToken): () => void
  /**
   * The app is back in the foreground or online: a connected socket is probed (an acknowledged
   * emit; no answer within `probeTimeoutMs` reconnects), a dropped one reconnects now.
   */
  resume(): void
}

type Message =
  | { t: 'event'; name: string; data: unknown }
  | { t: 'status'; state: ConnectionState; error: string | undefined }
  | { t: 'resync' }
  | { t: 'logout' }
  | { t: 'hello' }
  | { t: 'join'; tab: string; room: string; token: Token }
  | { t: 'leave'; tab: string; room: string }
  | { t: 'rooms' }

interface RoomHold {
  count: number
  getToken: GetSubscriptionToken | undefined
}

const IDLE: NudgeStatus = { state: 'idle', error: null, lastEventAt: null, role: 'solo' }

class Nudge<E extends object> implements NudgeClient<E> {
  #o: NudgeOptions<E>
  #engine
  #report
  #status = IDLE
  #listeners = new Set<() => void>()
  #handlers = new Map<string, Set<(data: never) => void>>()
  #mounts = 0
  #enabled: boolean
  #suspended = false
  #running = false
  #scheduled: ReturnType<typeof setTimeout> | undefined
  #socket: SocketLike | undefined
  #unlisten: (() => void) | undefined
  #retryTimer: ReturnType<typeof setTimeout> | undefined
  #attempt = 0
  #channel: ChannelLike | undefined
  #stepDown: (() => void) | undefined
  #connectedBefore = false
  /** The hub sent `nudge:resync` since the last connect: it named what was lost. */
  #resyncedByHub = false
  /** Events may have been missed (takeover, back/forward cache): resync at the next chance. */
  #stale = false
  #sawLeader = false
  /** Rooms this tab joined (joinRoom), with their holders. */
  #rooms = new Map<string, RoomHold>()
  /** On the socket's tab: rooms the other tabs asked for, by tab. */
  #remoteRooms = new Map<string, Map<string, Token>>()
  #tab = Math.random().toString(36).slice(2)
  /** The first CONNECT happened: `resumeFrom` (the server render's position) is used up. */
  #resumed = false
  /** The transport dropped or failed and socket.io-client is waiting to retry. */
  #dropped = false
  #probe: ReturnType<typeof setTimeout> | undefined

  constructor(options: NudgeOptions<E>) {
    this.#o = options
    this.#enabled = options.enabled ?? true
    this.#engine = createInvalidation(options)
    this.#report = reporter(options)
  }

  start(): () => void {
    this.#mounts++
    const onHide = (): void => {
      this.#suspended = true
      this.#reconcile()
    }
    const onShow = (event: PageTransitionEvent): void => {
      if (!event.persisted) return
      this.#suspended = false
      this.#stale = true
      this.#reconcile()
    }
    const win = typeof window !== 'undefined' ? window : undefined
    win?.addEventListener('pagehide', onHide)
    win?.addEventListener('pageshow', onShow)
    const o = this.#o
    const resume = (): void => this.resume()
    const unResume = (o.resumeListener ?? pageResumeListener)(resume)
    const unOnline = (o.onlineManager === undefined ? onlineManager : o.onlineManager)?.subscribe(
      (online) => online && resume(),
    )
    this.#schedule()
    return () => {
      win?.removeEventListener('pagehide', onHide)
      win?.removeEventListener('pageshow', onShow)
      unResume()
      unOnline?.()
      this.#mounts--
      this.#schedule()
    }
  }

  setEnabled(enabled: boolean): void {
    if (enabled === this.#enabled) return
    this.#enabled = enabled
    if (enabled) return this.#schedule()
    this.#post({ t: 'logout' })
    this.#connectedBefore = false
    this.#reconcile()
  }

  getStatus = (): NudgeStatus => this.#status

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  on<K extends EventName<E>>(name: K, handler: (data: E[K]) => void): () => void {
    const set = this.#handlers.get(name) ?? new Set()
    this.#handlers.set(name, set)
    set.add(handler)
    return () => set.delete(handler)
  }

  resync(): void {
    this.#engine.resync()
    this.#post({ t: 'resync' })
  }

  joinRoom(room: string, getSubscriptionToken?: GetSubscriptionToken): () => void {
    const hold = this.#rooms.get(room) ?? { count: 0, getToken: getSubscriptionToken }
    hold.count++
    hold.getToken = getSubscriptionToken ?? hold.getToken
    this.#rooms.set(room, hold)
    if (hold.count === 1) this.#requestRoom(room)
    let held = true
    return () => {
      if (!held) return
      held = false
      if (--hold.count > 0 || this.#rooms.get(room) !== hold) return
      this.#rooms.delete(room)
      if (this.#status.role === 'follower') this.#post({ t: 'leave', tab: this.#tab, room })
      else this.#unsubscribeIfUnheld(room)
    }
  }

  /** Fetches the room's token, then joins it here or asks the leader to. */
  #requestRoom(room: string): void {
    const hold = this.#rooms.get(room)
    if (!hold) return
    // Not connected: the connect handler asks again, and a token fetched now could expire.
    if (this.#status.role !== 'follower' && !this.#socket?.connected) return
    Promise.resolve()
      .then(() => hold.getToken?.(room))
      .then((token) => {
        if (this.#rooms.get(room) !== hold) return
        if (this.#status.role === 'follower') this.#post({ t: 'join', tab: this.#tab, room, token })
        else this.#subscribeRoom(room, token)
      })
      .catch((error: unknown) => this.#report(error))
  }

  resume(): void {
    const socket = this.#socket
    // A follower tab came back: the socket is the leader's, whose tab may be in the background.
    // `hello` (also sent by a new tab) has the leader announce its status and probe its socket.
    if (this.#status.role === 'follower') this.#post({ t: 'hello' })
    else if (socket?.connected) {
      if (this.#probe) return
      this.#probe = setTimeout(() => {
        this.#probe = undefined
        if (socket === this.#socket && socket.connected) this.#reconnectNow(socket)
      }, this.#o.probeTimeoutMs ?? 1000)
      // nudged acknowledges every client event (with `not_relayed`): any answer proves the
      // connection is alive.
      socket.emit('nudge:probe', () => {
        clearTimeout(this.#probe)
        this.#probe = undefined
      })
    } else if (socket && this.#dropped) this.#reconnectNow(socket)
  }

  /**
   * Drops the transport and opens a new one without backoff. socket.io-client keeps its pid
   * and last offset across `disconnect()`, so the next CONNECT recovers as after any drop.
   */
  #reconnectNow(socket: SocketLike): void {
    this.#dropped = false
    socket.disconnect()
    this.#set({ state: 'reconnecting' })
    socket.connect()
  }

  #subscribeRoom(room: string, token: Token): void {
    const socket = this.#socket
    if (!socket?.connected) return // joined at the next connect
    const request = token == null ? { room } : { room, token }
    socket.emit('nudge:subscribe', request, (answer: unknown) => {
      const reply = answer as { ok?: boolean; error?: { code?: string; message?: string } }
      if (reply?.ok === true) return
      const error = new Error(
        `nudge: joining room "${room}" was refused: ${reply?.error?.code ?? 'error'} (${reply?.error?.message ?? 'no answer'})`,
      )
      this.#report(error)
    })
  }

  #unsubscribeIfUnheld(room: string): void {
    if (this.#rooms.has(room)) return
    for (const rooms of this.#remoteRooms.values()) if (rooms.has(room)) return
    if (this.#socket?.connected) this.#socket.emit('nudge:unsubscribe', { room })
  }

  #set(patch: Partial<NudgeStatus>): void {
    const prev = this.#status
    const next = { ...prev, ...patch }
    if (
      next.state === prev.state &&
      next.error === prev.error &&
      next.lastEventAt === prev.lastEventAt &&
      next.role === prev.role
    )
      return
    this.#status = next
    if (next.role === 'leader' && (next.state !== prev.state || next.error !== prev.error))
      this.#post({ t: 'status', state: next.state, error: next.error?.message })
    for (const listener of [...this.#listeners]) listener()
  }

  #post(message: Message): void {
    try {
      this.#channel?.postMessage(message)
    } catch (error) {
      this.#report(error)
    }
  }

  #schedule(): void {
    clearTimeout(this.#scheduled)
    this.#scheduled = setTimeout(() => this.#reconcile(), 0)
  }

  /** Brings the connection in line with mounts, the token and page visibility. */
  #reconcile(): void {
    clearTimeout(this.#scheduled)
    const want = this.#mounts > 0 && this.#enabled && !this.#suspended
    if (want === this.#running) return
    this.#running = want
    if (!want) {
      this.#stepDown?.()
      this.#stepDown = undefined
      this.#closeSocket()
      this.#channel?.close()
      this.#channel = undefined
      this.#engine.dispose()
      return this.#set({ state: 'idle', error: null })
    }
    const o = this.#o
    const hasWindow = typeof window !== 'undefined'
    const locks =
      o.locks === undefined && hasWindow
        ? (navigator as { locks?: LockManagerLike }).locks
        : o.locks
    const channel =
      o.channel === undefined && hasWindow && typeof BroadcastChannel !== 'undefined'
        ? (name: string) => new BroadcastChannel(name)
        : o.channel
    const name = `nudge:${o.url}`
    if (channel) {
      const opened = (this.#channel = channel(name))
      opened.onmessage = (event) => this.#receive(event.data as Message)
    }
    if (o.shareAcrossTabs !== false && locks && this.#channel) {
      this.#set({ role: 'follower', state: 'connecting', error: null })
      this.#post({ t: 'hello' })
      this.#stepDown = elect(locks, name, () => {
        // Wait one task: a leader that logged out posted `logout` before releasing the lock,
        // and that message should win over opening a socket it would close at once.
        const opening = setTimeout(() => {
          if (this.#sawLeader) this.#stale = true
          this.#set({ role: 'leader' })
          this.#openSocket()
        }, 0)
        return () => {
          clearTimeout(opening)
          this.#closeSocket()
        }
      })
    } else {
      this.#set({ role: 'solo' })
      this.#openSocket()
    }
  }

  #receive(message: Message): void {
    const follower = this.#status.role === 'follower'
    if (message.t === 'logout') {
      this.#enabled = false
      this.#connectedBefore = false
      this.#reconcile()
      try {
        this.#o.onLogout?.()
      } catch (error) {
        this.#report(error)
      }
    } else if (message.t === 'hello') {
      if (this.#status.role !== 'leader') return
      this.#announce()
      this.resume()
    } else if (message.t === 'join' || message.t === 'leave') {
      if (this.#status.role !== 'leader') return
      const rooms = this.#remoteRooms.get(message.tab) ?? new Map<string, Token>()
      this.#remoteRooms.set(message.tab, rooms)
      if (message.t === 'join') {
        rooms.set(message.room, message.token)
        this.#subscribeRoom(message.room, message.token)
      } else {
        rooms.delete(message.room)
        this.#unsubscribeIfUnheld(message.room)
      }
    } else if (message.t === 'rooms') {
      // The socket's tab (re)connected: it asks every tab for its rooms, with fresh tokens.
      if (follower) for (const room of this.#rooms.keys()) this.#requestRoom(room)
    } else if (follower) {
      this.#sawLeader = true
      if (this.#stale) {
        this.#stale = false
        this.#engine.resync()
      }
      if (message.t === 'event') this.#deliver(message.name, message.data)
      else if (message.t === 'resync') this.#engine.resync()
      else
        this.#set({
          state: message.state,
          error: message.error === undefined ? null : new Error(message.error),
        })
    }
  }

  #announce(): void {
    const { state, error } = this.#status
    this.#post({ t: 'status', state, error: error?.message })
  }

  #deliver(name: string, data: unknown): void {
    this.#set({ lastEventAt: Date.now() })
    this.#engine.event(name, data)
    for (const handler of [...(this.#handlers.get(name) ?? [])]) {
      try {
        ;(handler as (data: unknown) => void)(data)
      } catch (error) {
        this.#report(error)
      }
    }
  }

  #openSocket(): void {
    const o = this.#o
    const socket: SocketLike = o.io(o.url, {
      transports: ['websocket'],
      ...o.socketOptions,
      autoConnect: false,
      // A function, so socket.io-client asks for the token again on every (re)connect.
      auth: (send: (data: object) => void) => {
        Promise.resolve()
          .then(o.getToken)
          .then((token) => {
            if (socket !== this.#socket) return
            // Only the first CONNECT resumes from the render ({ offset, pid }); later ones carry
            // socket.io-client's own pid and offset (its CONNECT merges ours over them).
            // recovery/nudge: this session wants offsets and a pid whatever the hub's default,
            // and nudge's metadata argument (docs/delivery.md).
            if (token != null) {
              return send({ token, ...(this.#resumed ? null : o.resumeFrom), recovery: true, nudge: 1 })
            }
            this.#set({ state: 'unauthorized', error: new Error('no token') })
            this.#retry(socket)
          })
          .catch((error: unknown) => {
            if (socket !== this.#socket) return
            this.#report(error)
            this.#retry(socket)
          })
      },
    })
    const onConnect = (): void => {
      this.#attempt = 0
      this.#dropped = false
      this.#resumed = true
      // A recovered session had every missed event replayed (they go through coalescing like
      // live ones). An unrecovered one that got nudge:resync (nudged sends it before the
      // CONNECT answer) has resynced what it named. Otherwise (a hub without recovery):
      // everything.
      const resync =
        (this.#connectedBefore && socket.recovered !== true && !this.#resyncedByHub) ||
        this.#stale
      this.#resyncedByHub = false
      this.#connectedBefore = true
      this.#stale = false
      this.#set({ state: 'connected', error: null })
      if (resync) this.resync()
      // A new connection starts with the token's rooms only: join ours and the other tabs'.
      this.#remoteRooms.clear()
      for (const room of this.#rooms.keys()) this.#requestRoom(room)
      this.#post({ t: 'rooms' })
    }
    const onConnectError = (error: Error): void => {
      // `active` stays true while the manager retries a transport error by itself; a refusal
      // by the hub (CONNECT_ERROR) deactivates the socket and leaves retrying to us.
      if (socket.active) {
        this.#dropped = true
        return this.#set({ error })
      }
      const unauthorized = error.message === 'unauthorized'
      this.#set({ state: unauthorized ? 'unauthorized' : 'disconnected', error })
      try {
        if (unauthorized && o.onAuthError) o.onAuthError(error)
        else this.#report(error)
      } catch (thrown) {
        this.#report(thrown)
      }
      this.#retry(socket)
    }
    const onDisconnect = (reason: string): void => {
      this.#resyncedByHub = false
      if (reason === 'io client disconnect') return
      this.#set({ state: 'reconnecting' })
      // The hub hung up on purpose (e.g. an expired token): socket.io-client will not retry,
      // and our backoff is kept even when the app resumes.
      if (reason === 'io server disconnect') this.#retry(socket)
      else this.#dropped = true
    }
    const onFailed = (): void => {
      this.#dropped = true
      this.#set({ state: 'disconnected' })
    }
    const onAny = (name: string, ...args: unknown[]): void => {
      // Between a disconnect and the next connect (socket.io-client emits what arrived before
      // the CONNECT answer just before "connect", already marked connected).
      if (name === (o.resyncEvent ?? 'nudge:resync')) this.#resyncedByHub = true
      // An ack callback cannot cross to other tabs; events carry their data first.
      const data = typeof args[0] === 'function' ? undefined : args[0]
      this.#deliver(name, data)
      this.#post({ t: 'event', name, data })
    }
    socket.on('connect', onConnect)
    socket.on('connect_error', onConnectError)
    socket.on('disconnect', onDisconnect)
    socket.io.on('reconnect_failed', onFailed)
    socket.onAny(onAny)
    this.#unlisten = () => {
      socket.off('connect', onConnect)
      socket.off('connect_error', onConnectError)
      socket.off('disconnect', onDisconnect)
      socket.io.off('reconnect_failed', onFailed)
      socket.offAny(onAny)
    }
    this.#socket = socket
    this.#set({ state: this.#connectedBefore ? 'reconnecting' : 'connecting' })
    socket.connect()
  }

  #retry(socket: SocketLike): void {
    socket.disconnect()
    const { minMs = 1000, maxMs = 30_000 } = this.#o.backoff ?? {}
    const delay = Math.min(maxMs, minMs * 2 ** this.#attempt++)
    clearTimeout(this.#retryTimer)
    this.#retryTimer = setTimeout(
      () => {
        if (socket === this.#socket) socket.connect()
      },
      delay / 2 + (Math.random() * delay) / 2,
    )
  }

  #closeSocket(): void {
    clearTimeout(this.#retryTimer)
    clearTimeout(this.#probe)
    this.#probe = undefined
    this.#dropped = false
    this.#unlisten?.()
    this.#unlisten = undefined
    this.#socket?.disconnect()
    this.#socket = undefined
    this.#attempt = 0
  }
}

/** Creates a connection manager; see `NudgeOptions`. Side-effect free until `start()`. */
export const createNudge = <E extends object = RegisteredEvents>(
  options: NudgeOptions<E>,
): NudgeClient<E> => new Nudge(options)
