// createInvalidator: the seed's `useSocketConnection` listener loop, without React.
//
// Contract: attaches to a socket the caller owns and connects; returns a disposer that removes
// exactly the listeners it added. Never throws into the socket's emitter.
import { createInvalidation, type InvalidationOptions } from './invalidation.js'
import { readEventArgs } from './meta.js'
import type { RegisteredEvents, SocketLike } from './types.js'

export interface InvalidatorOptions<E extends object = RegisteredEvents>
  extends InvalidationOptions<E> {
  readonly socket: SocketLike
}

/**
 * socket.io-client appends the event's offset to its arguments when the session has recovery
 * (the hub gave it a pid); `readEventArgs` must drop it.
 */
export const hasOffsets = (socket: SocketLike): boolean =>
  (socket as { _pid?: unknown })._pid != null

/**
 * Wires socket events to `queryClient.invalidateQueries` through the event map, with coalescing,
 * refetch-after-settle and hidden-tab handling, and resyncs every mapped key after a reconnect
 * that the server did not recover (`socket.recovered !== true`) unless the hub named what was
 * lost with `nudge:resync` (sent before the CONNECT answer, so it arrives before `connect`).
 */
export const createInvalidator = <E extends object = RegisteredEvents>(
  options: InvalidatorOptions<E>,
): (() => void) => {
  const { socket } = options
  const engine = createInvalidation(options)
  let connectedBefore = socket.connected
  let resyncedByHub = false
  const onAny = (name: string, ...args: unknown[]): void => {
    if (name === (options.resyncEvent ?? 'nudge:resync')) resyncedByHub = true
    const { data, meta } = readEventArgs(args, hasOffsets(socket))
    engine.event(name, data, meta)
  }
  const onDisconnect = (): void => {
    resyncedByHub = false
  }
  const onConnect = (): void => {
    if (connectedBefore && socket.recovered !== true && !resyncedByHub) engine.resync()
    connectedBefore = true
    resyncedByHub = false
  }
  socket.onAny(onAny)
  socket.on('connect', onConnect)
  socket.on('disconnect', onDisconnect)
  return () => {
    socket.offAny(onAny)
    socket.off('connect', onConnect)
    socket.off('disconnect', onDisconnect)
    engine.dispose()
  }
}
