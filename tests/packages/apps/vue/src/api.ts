export const user = new URLSearchParams(location.search).get('user') ?? 'nobody'
export const json = async <T>(path: string): Promise<T> => (await fetch(path)).json() as Promise<T>
export const getToken = async (): Promise<string> =>
  (await json<{ token: string }>('/api/token?user=' + user)).token
