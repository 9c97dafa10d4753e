import { defineConfig } from 'vite'

// No React plugin needed: esbuild compiles the JSX (automatic runtime).
export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'react' },
  logLevel: 'warn',
  build: {
    rollupOptions: {
      // TanStack Query's "use client" directives mean nothing in a client-only bundle.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning)
      },
    },
  },
})
