// A fresh Vite + Svelte 5 app: @nudge/svelte-query's context beside TanStack's, status as a store.
import { mount } from 'svelte'
import App from './App.svelte'

declare module '@nudge/svelte-query' {
  interface Register {
    events: { balance_updated: { userId: string } }
  }
}

mount(App, { target: document.getElementById('root')! })
