// @nudge/react-query's './fresh' entry: the fetch helper that makes a refetch at least as new as
// its event (docs/fresh-data.md), re-exported unchanged from @nudge/query-core/fresh.
export * from '@nudge/query-core/fresh'
