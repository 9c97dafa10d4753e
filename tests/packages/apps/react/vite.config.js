export default {
  esbuild: { jsx: 'automatic' },
  logLevel: 'warn',
  build: { rollupOptions: { onwarn(w, warn) { if (w.code !== 'MODULE_LEVEL_DIRECTIVE') warn(w) } } },
}
