// The conformance app in Angular (zoneless, standalone components, signals): TanStack's
// provideTanStackQuery, then @nudge/angular-query's provideNudge and inject functions.
import { Component, computed, input, provideZonelessChangeDetection, signal } from '@angular/core'
import { bootstrapApplication } from '@angular/platform-browser'
import { injectNudgeEvent, injectNudgeRoom, injectNudgeStatus, provideNudge } from '@nudge/angular-query'
import { injectQuery, provideTanStackQuery, QueryClient } from '@tanstack/angular-query-experimental'
import * as shared from '../../shared'

declare module '@nudge/angular-query' {
  interface Register {
    events: shared.AppEvents
  }
}

@Component({
  selector: 'app-project',
  template: `<div id="project">{{ version.data() === undefined ? '…' : 'version ' + version.data() }}</div>`,
})
class Project {
  readonly id = input.required<number>()
  readonly version = injectQuery(() => ({
    queryKey: ['project', this.id()],
    queryFn: () => shared.fetchProject(this.id()),
  }))

  constructor() {
    injectNudgeRoom(computed(() => `project_${this.id()}`), shared.getSubscriptionToken)
  }
}

@Component({
  selector: 'app-root',
  imports: [Project],
  template: `
    <span id="status">{{ status().state }}</span> <span id="role">{{ status().role }}</span>
    <div id="balance">{{ show(balance.data()) }}</div>
    <div id="marker">{{ show(marker.data()) }}</div>
    <div id="seen">{{ seen() }}</div>
    <div id="project-events">{{ projectEvents() }}</div>
    @if (open()) {
      <app-project [id]="projectId" />
    } @else {
      <div id="project">closed</div>
    }
    <button id="leave" (click)="open.set(false)">leave</button>
  `,
})
class App {
  readonly status = injectNudgeStatus()
  readonly balance = injectQuery(() => ({ queryKey: ['balance'], queryFn: shared.fetchBalance }))
  readonly marker = injectQuery(() => ({ queryKey: ['marker'], queryFn: shared.fetchMarker }))
  readonly seen = signal(0)
  readonly projectEvents = signal(0)
  readonly open = signal(shared.project !== null)
  readonly projectId = Number(shared.project)
  readonly show = shared.show

  constructor() {
    injectNudgeEvent('balance_updated', () => this.seen.update((n) => n + 1))
    injectNudgeEvent('project_updated', () => this.projectEvents.update((n) => n + 1))
  }
}

bootstrapApplication(App, {
  providers: [
    provideZonelessChangeDetection(),
    provideTanStackQuery(new QueryClient(shared.queryClientConfig)),
    provideNudge({
      url: shared.hub,
      getToken: shared.getToken,
      events: shared.events,
      roomEvents: shared.roomEvents,
      socketOptions: shared.socketOptions,
    }),
  ],
}).catch((error: unknown) => console.error(error))
