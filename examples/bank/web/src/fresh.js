// Which data arrived after the first load, so that only changes flash (not the first render).
import { useRef } from 'react';

/** `isNew(id)`: whether `id` was absent from `ids` the first time they were known. */
export function useIsNew(ids) {
  const first = useRef(null);
  if (ids && !first.current) first.current = new Set(ids);
  return (id) => first.current !== null && !first.current.has(id);
}
