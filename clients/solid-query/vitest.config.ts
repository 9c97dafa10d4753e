import { defineConfig } from 'vitest/config'

// The provider's lifecycle in jsdom with Solid's browser build, server rendering with its server
// build (node), and the type tests. Its behaviour against a real hub in Chromium is in the
// conformance suite (tests/conformance), the same for every framework.
export default defineConfig({
  test: {
    projects: [
      {
        resolve: { conditions: ['browser'] },
        test: {
          name: 'dom',
          environment: 'jsdom',
          include: ['test/provider.test.ts'],
          // Through Vite, so that solid-js resolves to its browser build for TanStack's adapter
          // too: one copy of Solid, one owner tree (node would load the server build for it).
          server: { deps: { inline: [/solid-js/, /@tanstack\/solid-query/] } },
          typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.typetest.json' },
        },
      },
      { test: { name: 'server', environment: 'node', include: ['test/ssr.test.ts'] } },
    ],
    pool: 'threads',
    poolOptions: { threads: { maxThreads: 2, minThreads: 1 } },
  },
})
