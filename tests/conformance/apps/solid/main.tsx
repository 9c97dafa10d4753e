// The conformance app in Solid: QueryClientProvider, then @nudge/solid-query's provider and
// primitives.
import { NudgeProvider, useNudgeEvent, useNudgeRoom, useNudgeStatus } from '@nudge/solid-query'
import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/solid-query'
import { createSignal, Show } from 'solid-js'
import { render } from 'solid-js/web'
import * as shared from '../shared'

declare module '@nudge/solid-query' {
  interface Register {
    events: shared.AppEvents
  }
}

const queryClient = new QueryClient(shared.queryClientConfig)

function Project(props: { id: number }) {
  useNudgeRoom(() => `project_${props.id}`, shared.getSubscriptionToken)
  const version = useQuery(() => ({ queryKey: ['project', props.id], queryFn: () => shared.fetchProject(props.id) }))
  return <div id="project">{version.data === undefined ? '…' : `version ${version.data}`}</div>
}

function Page() {
  const status = useNudgeStatus()
  const balance = useQuery(() => ({ queryKey: ['balance'], queryFn: shared.fetchBalance }))
  const marker = useQuery(() => ({ queryKey: ['marker'], queryFn: shared.fetchMarker }))
  const [seen, setSeen] = createSignal(0)
  const [projectEvents, setProjectEvents] = createSignal(0)
  const [open, setOpen] = createSignal(shared.project !== null)
  useNudgeEvent('balance_updated', () => setSeen((n) => n + 1))
  useNudgeEvent('project_updated', () => setProjectEvents((n) => n + 1))
  return (
    <>
      <span id="status">{status().state}</span> <span id="role">{status().role}</span>
      <div id="balance">{shared.show(balance.data)}</div>
      <div id="marker">{shared.show(marker.data)}</div>
      <div id="seen">{seen()}</div>
      <div id="project-events">{projectEvents()}</div>
      <Show when={open()} fallback={<div id="project">closed</div>}>
        <Project id={Number(shared.project)} />
      </Show>
      <button id="leave" onClick={() => setOpen(false)}>leave</button>
    </>
  )
}

render(
  () => (
    <QueryClientProvider client={queryClient}>
      <NudgeProvider url={shared.hub} getToken={shared.getToken} events={shared.events}
        roomEvents={shared.roomEvents} socketOptions={shared.socketOptions}>
        <Page />
      </NudgeProvider>
    </QueryClientProvider>
  ),
  document.getElementById('root')!,
)
