const params = new URLSearchParams(location.search)
export const user = params.get('user') ?? 'nobody'
export const hub = params.get('hub') ?? ''
export const json = async <T>(path: string): Promise<T> => (await fetch(path)).json() as Promise<T>
export const getToken = async (): Promise<string> =>
  (await json<{ token: string }>('/api/token?user=' + user)).token
