// The conformance app in Vue: VueQueryPlugin, then @nudge/vue-query's plugin and composables.
import { NudgePlugin } from '@nudge/vue-query'
import { QueryClient, VueQueryPlugin } from '@tanstack/vue-query'
import { createApp } from 'vue'
import * as shared from '../shared'
import App from './App.vue'

declare module '@nudge/vue-query' {
  interface Register {
    events: shared.AppEvents
  }
}

createApp(App)
  .use(VueQueryPlugin, { queryClient: new QueryClient(shared.queryClientConfig) })
  .use(NudgePlugin, {
    url: shared.hub,
    getToken: shared.getToken,
    events: shared.events,
    roomEvents: shared.roomEvents,
    socketOptions: shared.socketOptions,
  })
  .mount('#root')
