// What every conformance app shares, so that the five differ only in their framework: the page's
// parameters, the event map, the rooms' events, the socket options and the data fetches. The page
// shows (by id) #status, #role, #balance, #marker, #seen (balance_updated events seen by the
// event hook), #project and #project-events; #leave closes the project page.
import type { EventMap } from '@nudge/query-core'

/** The events' data types; each app registers them on its binding (`interface Register`). */
export interface AppEvents {
  balance_updated: undefined
  marker: undefined
  project_updated: { id: number }
}

const params = new URLSearchParams(window.location.search)
export const user = params.get('user') ?? 'nobody'
export const hub = params.get('hub') ?? ''
/** With ?project=<id>, the page shows that project and listens to project_<id> while it is open. */
export const project = params.get('project')

export const events = {
  balance_updated: ['balance'],
  // The suite's marker: published after something that must not cause a refetch, and waited for.
  marker: ['marker'],
  // A function cannot be enumerated: after a gap in a project room, every project query resyncs.
  project_updated: { keys: (data) => [['project', data.id]], resync: ['project'] },
} satisfies EventMap<AppEvents>

/** Which events each room gets: after an unrecovered gap only the named rooms' keys refetch. */
export const roomEvents = (room: string): readonly string[] | undefined => {
  if (room.startsWith('project_')) return ['project_updated']
  if (room.startsWith('user_')) return ['balance_updated', 'marker']
  return undefined
}

// Quick reconnects once the test's proxy lets connections through again.
export const socketOptions = { transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 500 }

export const queryClientConfig = {
  defaultOptions: { queries: { staleTime: Infinity, refetchOnWindowFocus: false, retry: false } },
}

const json = async <T>(path: string): Promise<T> => (await fetch(path)).json() as Promise<T>

export const getToken = async (): Promise<string> =>
  (await json<{ token: string }>(`/api/token?user=${user}`)).token
export const getSubscriptionToken = async (room: string): Promise<string> =>
  (await json<{ token: string }>(`/api/subscription-token?user=${user}&room=${room}`)).token

export const fetchBalance = async (): Promise<number> =>
  (await json<{ balance: number }>(`/api/balance?user=${user}`)).balance
export const fetchMarker = async (): Promise<number> => (await json<{ n: number }>(`/api/marker?user=${user}`)).n
export const fetchProject = async (id: number): Promise<number> =>
  (await json<{ version: number }>(`/api/project?id=${id}`)).version

export const show = (value: number | undefined): string => (value === undefined ? '…' : String(value))
