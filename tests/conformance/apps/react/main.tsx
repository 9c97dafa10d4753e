// The conformance app in React: @nudge/react-query's provider and hooks.
import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query'
import { NudgeProvider, useNudgeEvent, useNudgeRoom, useNudgeStatus } from '@nudge/react-query/react'
import { useState } from 'react'
import { createRoot } from 'react-dom/client'
import * as app from '../shared'

declare module '@nudge/react-query' {
  interface Register {
    events: app.AppEvents
  }
}

const queryClient = new QueryClient(app.queryClientConfig)

function Project({ id }: { id: number }) {
  useNudgeRoom(`project_${id}`, app.getSubscriptionToken)
  const version = useQuery({ queryKey: ['project', id], queryFn: () => app.fetchProject(id) })
  return <div id="project">{version.data === undefined ? '…' : `version ${version.data}`}</div>
}

function Page() {
  const status = useNudgeStatus()
  const balance = useQuery({ queryKey: ['balance'], queryFn: app.fetchBalance })
  const marker = useQuery({ queryKey: ['marker'], queryFn: app.fetchMarker })
  const [seen, setSeen] = useState(0)
  const [projectEvents, setProjectEvents] = useState(0)
  const [open, setOpen] = useState(app.project !== null)
  useNudgeEvent('balance_updated', () => setSeen((n) => n + 1))
  useNudgeEvent('project_updated', () => setProjectEvents((n) => n + 1))
  return (
    <>
      <span id="status">{status.state}</span> <span id="role">{status.role}</span>
      <div id="balance">{app.show(balance.data)}</div>
      <div id="marker">{app.show(marker.data)}</div>
      <div id="seen">{seen}</div>
      <div id="project-events">{projectEvents}</div>
      {open ? <Project id={Number(app.project)} /> : <div id="project">closed</div>}
      <button id="leave" onClick={() => setOpen(false)}>leave</button>
    </>
  )
}

createRoot(document.getElementById('root')!).render(
  <QueryClientProvider client={queryClient}>
    <NudgeProvider url={app.hub} getToken={app.getToken} events={app.events} roomEvents={app.roomEvents}
      socketOptions={app.socketOptions}>
      <Page />
    </NudgeProvider>
  </QueryClientProvider>,
)
