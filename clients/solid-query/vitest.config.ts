import { defineConfig } from 'vitest/config'

// Type tests (test/*.test-d.ts); the binding's behaviour in a browser is checked by the
// conformance suite (tests/conformance), the same for every framework.
export default defineConfig({
  test: {
    include: [],
    passWithNoTests: false,
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.typetest.json' },
  },
})
