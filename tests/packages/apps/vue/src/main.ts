// A fresh Vite + Vue app: VueQueryPlugin, then @nudge/vue-query's plugin on the same client.
import { createApp } from 'vue'
import { QueryClient, VueQueryPlugin } from '@tanstack/vue-query'
import { NudgePlugin, type EventMap } from '@nudge/vue-query'
import App from './App.vue'
import { getToken } from './api'

declare module '@nudge/vue-query' {
  interface Register {
    events: { balance_updated: { userId: string } }
  }
}

const hub = new URLSearchParams(location.search).get('hub') ?? ''
const events = { balance_updated: ['balance'] } satisfies EventMap
const queryClient = new QueryClient()

createApp(App)
  .use(VueQueryPlugin, { queryClient })
  .use(NudgePlugin, { url: hub, events, getToken, queryClient })
  .mount('#root')
