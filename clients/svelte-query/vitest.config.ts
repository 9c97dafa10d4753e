import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vitest/config'

// The context's lifecycle in jsdom with Svelte's client build, server rendering with its server
// build (node), both through compiled .svelte fixtures; and the type tests. Its behaviour
// against a real hub in Chromium is in the conformance suite (tests/conformance), the same for
// every framework.
export default defineConfig({
  plugins: [svelte({ configFile: false })],
  test: {
    projects: [
      {
        extends: true,
        resolve: { conditions: ['browser'] },
        test: {
          name: 'dom',
          environment: 'jsdom',
          include: ['test/context.test.ts'],
          typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.typetest.json' },
        },
      },
      { extends: true, test: { name: 'server', environment: 'node', include: ['test/ssr.test.ts'] } },
    ],
    pool: 'threads',
    poolOptions: { threads: { maxThreads: 2, minThreads: 1 } },
  },
})
