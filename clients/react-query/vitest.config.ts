import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Core tests run in node (no DOM at all); React tests in jsdom.
    projects: [
      {
        test: {
          name: 'core',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.typetest.json' },
        },
      },
      { test: { name: 'react', environment: 'jsdom', include: ['test/**/*.test.tsx'] } },
    ],
    pool: 'threads',
    poolOptions: { threads: { maxThreads: 2, minThreads: 1 } },
  },
})
