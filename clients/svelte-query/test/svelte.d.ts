// Lets tsc import the test's .svelte fixtures (vitest compiles them with the Svelte plugin).
declare module '*.svelte' {
  import type { Component } from 'svelte'
  const component: Component<Record<string, unknown>>
  export default component
}
