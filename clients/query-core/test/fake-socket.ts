// A fake of the part of socket.io-client's Socket that nudge uses, driven by the test as if it
// were the server. Listener errors propagate like in the real emitter, so a test fails if nudge
// ever throws into it.
import type { SocketFactory, SocketFactoryOptions, SocketLike } from '../src/types.js'

type Listener = (...args: never[]) => void
type AnyListener = (event: string, ...args: unknown[]) => void

class Emitter {
  readonly listeners = new Map<string, Set<Listener>>()
  on(event: string, listener: Listener): this {
    const set = this.listeners.get(event) ?? new Set()
    this.listeners.set(event, set)
    set.add(listener)
    return this
  }
  off(event: string, listener: Listener): this {
    this.listeners.get(event)?.delete(listener)
    return this
  }
  emit(event: string, ...args: unknown[]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      ;(listener as (...a: unknown[]) => void)(...args)
    }
  }
  count(): number {
    let n = 0
    for (const set of this.listeners.values()) n += set.size
    return n
  }
}

export class FakeSocket extends Emitter {
  connected = false
  active = false
  recovered = false
  connectCalls = 0
  disconnectCalls = 0
  /** CONNECT payloads, one per handshake, as produced by the `auth` option. */
  readonly sentAuth: unknown[] = []
  readonly io = new Emitter()
  readonly #any = new Set<AnyListener>()
  /** What the client emitted (nudge:subscribe …), with its ack callback if any. */
  readonly sent: Array<{ event: string; args: unknown[] }> = []

  constructor(
    readonly url: string,
    readonly options: SocketFactoryOptions,
  ) {
    super()
  }

  /** This fake where the library expects a socket.io-client Socket. */
  get typed(): SocketLike {
    return this as unknown as SocketLike
  }

  /** The client's `socket.emit`: recorded; the test answers acks through `sent`. */
  override emit(event: string, ...args: unknown[]): void {
    this.sent.push({ event, args })
  }
  /** Calls the listeners, as the real socket does for events from the server. */
  fire(event: string, ...args: unknown[]): void {
    super.emit(event, ...args)
  }

  onAny(listener: AnyListener): this {
    this.#any.add(listener)
    return this
  }
  offAny(listener: AnyListener): this {
    this.#any.delete(listener)
    return this
  }
  listenerCount(): number {
    return this.count() + this.#any.size + this.io.count()
  }

  connect(): this {
    this.connectCalls++
    if (this.connected) return this
    this.active = true
    this.handshake()
    return this
  }
  disconnect(): this {
    this.disconnectCalls++
    const was = this.connected
    this.connected = false
    this.active = false
    if (was) this.fire('disconnect', 'io client disconnect')
    return this
  }

  /** The transport opened: socket.io-client asks `auth` for the CONNECT payload. */
  handshake(): void {
    const auth = this.options.auth
    if (typeof auth === 'function') auth((data: object) => this.sentAuth.push(data))
    else this.sentAuth.push(auth)
  }

  // ---- the server's side ----
  accept({ recovered = false } = {}): void {
    this.connected = true
    this.recovered = recovered
    this.fire('connect')
  }
  /** CONNECT_ERROR: socket.io-client destroys the socket and does not retry by itself. */
  refuse(message: string, data?: unknown): void {
    this.active = false
    this.fire('connect_error', Object.assign(new Error(message), { data }))
  }
  /** A transport error while connecting: the manager retries by itself. */
  transportError(): void {
    this.fire('connect_error', new Error('websocket error'))
  }
  /** The connection drops; the manager will reconnect (call `handshake()` then `accept()`). */
  drop(): void {
    this.connected = false
    this.fire('disconnect', 'transport close')
  }
  serverDisconnect(): void {
    this.connected = false
    this.active = false
    this.fire('disconnect', 'io server disconnect')
  }
  event(name: string, ...args: unknown[]): void {
    for (const listener of [...this.#any]) listener(name, ...args)
    this.fire(name, ...args)
  }
}

export const fakeIo = (): { io: SocketFactory; sockets: FakeSocket[] } => {
  const sockets: FakeSocket[] = []
  return {
    sockets,
    io: (url, options) => {
      const socket = new FakeSocket(url, options)
      sockets.push(socket)
      return socket.typed
    },
  }
}
