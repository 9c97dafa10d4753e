// Fakes of Web Locks and BroadcastChannel shared by several simulated tabs in one test.
import type { ChannelLike, LockManagerLike } from '../src/types.js'

interface Waiter {
  callback: (lock: unknown) => Promise<void>
  resolve: (value: unknown) => void
  reject: (reason: unknown) => void
  granted: boolean
}

/** Exclusive locks granted in request order, callbacks run asynchronously, abort while queued. */
export class FakeLocks implements LockManagerLike {
  readonly #queues = new Map<string, Waiter[]>()
  readonly #held = new Set<string>()
  requests = 0

  request(
    name: string,
    options: { signal?: AbortSignal },
    callback: (lock: unknown) => Promise<void>,
  ): Promise<unknown> {
    this.requests++
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { callback, resolve, reject, granted: false }
      const queue = this.#queues.get(name) ?? []
      this.#queues.set(name, queue)
      queue.push(waiter)
      options.signal?.addEventListener('abort', () => {
        if (waiter.granted) return
        queue.splice(queue.indexOf(waiter), 1)
        reject(new DOMException('aborted', 'AbortError'))
      })
      this.#pump(name)
    })
  }

  held(name: string): boolean {
    return this.#held.has(name)
  }
  waiting(name: string): number {
    return this.#queues.get(name)?.length ?? 0
  }

  #pump(name: string): void {
    if (this.#held.has(name)) return
    const waiter = this.#queues.get(name)?.shift()
    if (!waiter) return
    waiter.granted = true
    this.#held.add(name)
    const done = (): void => {
      this.#held.delete(name)
      this.#pump(name)
    }
    void Promise.resolve()
      .then(() => waiter.callback({ name }))
      .then(
        (value) => {
          done()
          waiter.resolve(value)
        },
        (error: unknown) => {
          done()
          waiter.reject(error)
        },
      )
  }
}

/** BroadcastChannels of one browser: a message reaches every other open channel of that name. */
export class ChannelHub {
  readonly #open = new Set<FakeChannel>()
  readonly sent: unknown[] = []
  readonly #queue: Array<{ to: FakeChannel; data: unknown }> = []
  #flushing = false

  channel = (name: string): FakeChannel => {
    const channel = new FakeChannel(name, this)
    this.#open.add(channel)
    return channel
  }
  openCount(): number {
    return this.#open.size
  }

  /** @internal */
  deliver(from: FakeChannel, message: unknown): void {
    if (!this.#open.has(from)) throw new DOMException('channel is closed', 'InvalidStateError')
    this.sent.push(message)
    const data = structuredClone(message)
    for (const to of this.#open) {
      if (to !== from && to.name === from.name) this.#queue.push({ to, data })
    }
    // Delivered as a later task, in the order posted, like the real thing.
    if (!this.#flushing) {
      this.#flushing = true
      setTimeout(() => {
        this.#flushing = false
        for (const { to, data: d } of this.#queue.splice(0)) {
          if (this.#open.has(to)) to.onmessage?.({ data: d } as MessageEvent)
        }
      }, 0)
    }
  }
  /** @internal */
  close(channel: FakeChannel): void {
    this.#open.delete(channel)
  }
}

export class FakeChannel implements ChannelLike {
  onmessage: ((event: MessageEvent) => void) | null = null
  constructor(
    readonly name: string,
    readonly hub: ChannelHub,
  ) {}
  postMessage(message: unknown): void {
    this.hub.deliver(this, message)
  }
  close(): void {
    this.hub.close(this)
  }
}
