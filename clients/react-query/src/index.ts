// @nudge/react-query's '.' entry: the framework-free core, re-exported unchanged from
// @nudge/query-core so that apps written against it before the split change nothing. The React
// layer is './react'.
export * from '@nudge/query-core'
