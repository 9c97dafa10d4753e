import { defineConfig } from 'vitest/config'

// The plugin's lifecycle in jsdom, server rendering in node (test/ssr.test.ts says so), and the
// type tests. Its behaviour against a real hub in Chromium is in the conformance suite
// (tests/conformance), the same for every framework.
export default defineConfig({
  test: {
    environment: 'jsdom',
    include: ['test/**/*.test.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.typetest.json' },
    pool: 'threads',
    poolOptions: { threads: { maxThreads: 2, minThreads: 1 } },
  },
})
