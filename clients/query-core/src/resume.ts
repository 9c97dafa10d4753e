// When a page or app comes back to the foreground, its socket may be dead without knowing it
// (a frozen tab, a phone that slept: the hub's pings went unanswered and it closed the
// session, or the network changed), or waiting out a long reconnection backoff. A resume
// listener tells nudge "check now"; nudge then probes a connected socket (an acknowledged
// emit) and reconnects at once when the probe goes unanswered or the socket was already down.
//
// Contract: a listener attaches to its platform's events, calls `resume` on each return to
// the foreground, and returns its own cleanup. Touches browser globals only when called.
import type { ResumeListener } from './types.js'

/**
 * The browser's signals: the document became visible, or the page was shown (including from
 * the back/forward cache). Does nothing where there is no document (server, React Native).
 */
export const pageResumeListener: ResumeListener = (resume) => {
  if (typeof document === 'undefined') return () => undefined
  const onVisibility = (): unknown => document.visibilityState === 'visible' && resume()
  document.addEventListener('visibilitychange', onVisibility)
  addEventListener('pageshow', resume)
  return () => {
    document.removeEventListener('visibilitychange', onVisibility)
    removeEventListener('pageshow', resume)
  }
}
