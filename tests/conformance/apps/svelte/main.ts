// The conformance app in Svelte 5: App.svelte sets the QueryClient and @nudge/svelte-query's
// context; Page.svelte and Project.svelte use its stores and lifecycle functions.
import { mount } from 'svelte'
import App from './App.svelte'

mount(App, { target: document.getElementById('root')! })
