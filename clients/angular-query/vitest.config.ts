import { defineConfig } from 'vitest/config'

// provideNudge and the inject functions through TestBed in jsdom, and the type tests. Its
// behaviour against a real hub in Chromium is in the conformance suite (tests/conformance), the
// same for every framework.
export default defineConfig({
  test: {
    environment: 'jsdom',
    include: ['test/**/*.test.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.typetest.json' },
    pool: 'threads',
    poolOptions: { threads: { maxThreads: 2, minThreads: 1 } },
  },
})
