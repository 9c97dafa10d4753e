// A fresh Angular app built with Angular's own builder: provideNudge next to
// provideTanStackQuery, the status as a signal.
import { ChangeDetectionStrategy, Component, provideZonelessChangeDetection } from '@angular/core'
import { bootstrapApplication } from '@angular/platform-browser'
import { QueryClient, injectQuery, provideTanStackQuery } from '@tanstack/angular-query-experimental'
import { injectNudgeStatus, provideNudge, type EventMap } from '@nudge/angular-query'

declare module '@nudge/angular-query' {
  interface Register {
    events: { balance_updated: { userId: string } }
  }
}

const params = new URLSearchParams(location.search)
const user = params.get('user') ?? 'nobody'
const hub = params.get('hub') ?? ''
const events = { balance_updated: ['balance'] } satisfies EventMap

const json = async <T>(path: string): Promise<T> => (await fetch(path)).json() as Promise<T>
const getToken = async (): Promise<string> =>
  (await json<{ token: string }>('/api/token?user=' + user)).token

@Component({
  selector: 'app-root',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <p id="status">{{ status().state }}</p>
    <p id="balance">{{ balanceText() }}</p>
  `,
})
class App {
  readonly status = injectNudgeStatus()
  readonly balance = injectQuery(() => ({
    queryKey: ['balance'],
    queryFn: () => json<{ balance: number }>('/api/balance?user=' + user),
  }))
  balanceText(): string {
    const data = this.balance.data()
    return data === undefined ? 'loading' : String(data.balance)
  }
}

bootstrapApplication(App, {
  providers: [
    provideZonelessChangeDetection(),
    provideTanStackQuery(new QueryClient()),
    provideNudge({ url: hub, events, getToken }),
  ],
}).catch((error: unknown) => console.error(error))
