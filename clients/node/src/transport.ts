// Keep-alive HTTP(S) POSTs to one hub, with node:http and an Agent that pools connections.
//
// A process that emits often pays for one TCP handshake, not one per event. The hub closes
// connections idle longer than its --http-idle-timeout; a request that fails on a reused
// connection before any answer is sent once more on a fresh one, at once and without counting
// as a retry (the hub never read it). Network errors reject with the Node error; the caller
// decides whether to retry.
import http from 'node:http'
import https from 'node:https'

export interface Response {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

export interface Transport {
  post(
    path: string,
    body: string,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<Response>
  /** Closes pooled connections; later posts open new ones. */
  close(): void
}

/** The error of a request that ran past its deadline. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError'
}

const STALE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED'])

export function createTransport(base: URL): Transport {
  const secure = base.protocol === 'https:'
  const request = secure ? https.request : http.request
  // Free sockets are unref'd by the Agent, so an idle emitter never keeps the process alive.
  const options = { keepAlive: true, maxFreeSockets: 8 }
  const agent = secure ? new https.Agent(options) : new http.Agent(options)
  const prefix = base.pathname.replace(/\/+$/, '')

  const once = (path: string, body: string, headers: Record<string, string>, timeoutMs: number) =>
    new Promise<{ response: Response } | { error: Error; reused: boolean }>((resolve) => {
      const req = request({
        protocol: base.protocol,
        hostname: base.hostname,
        port: base.port,
        path: prefix + path,
        method: 'POST',
        agent,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      })
      const deadline = setTimeout(
        () => req.destroy(new TimeoutError(`no answer within ${timeoutMs} ms`)),
        timeoutMs,
      )
      const fail = (error: Error) => {
        clearTimeout(deadline)
        resolve({ error, reused: req.reusedSocket })
      }
      req.on('error', fail)
      req.on('response', (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', fail)
        res.on('end', () => {
          clearTimeout(deadline)
          const status = res.statusCode ?? 0
          resolve({
            response: {
              status,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            },
          })
        })
      })
      req.end(body)
    })

  return {
    async post(path, body, headers, timeoutMs) {
      let result = await once(path, body, headers, timeoutMs)
      if (
        'error' in result &&
        result.reused &&
        STALE.has((result.error as NodeJS.ErrnoException).code ?? '')
      ) {
        result = await once(path, body, headers, timeoutMs)
      }
      if ('error' in result) throw result.error
      return result.response
    },
    close() {
      agent.destroy()
    },
  }
}
