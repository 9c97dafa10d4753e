// Leader election across the tabs of one browser with the Web Locks API.
//
// Contract: `elect` queues for an exclusive lock; while this tab holds it, `lead` has run and the
// cleanup it returned has not. The returned function leaves the queue or steps down. The browser
// releases the lock by itself when a tab closes or crashes, so the next tab in the queue leads.
import type { LockManagerLike } from './types.js'

/** @internal */
export const elect = (
  locks: LockManagerLike,
  name: string,
  lead: () => () => void,
): (() => void) => {
  const abort = new AbortController()
  let stepDown: (() => void) | undefined
  let done = false
  locks
    .request(name, { signal: abort.signal }, () =>
      new Promise<void>((release) => {
        if (done) return release()
        const stop = lead()
        stepDown = () => {
          stop()
          release()
        }
      }),
    )
    .catch(() => {
      // AbortError: we left the queue before our turn.
    })
  return () => {
    done = true
    if (stepDown) stepDown()
    else abort.abort()
    stepDown = undefined
  }
}
