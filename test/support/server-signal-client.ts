// A raw WebSocket client for signaling tests: queues what it receives so a test can await the
// next message or the close, with a deadline that fails with a readable message instead of
// letting the test time out silently.

import WebSocket from 'ws'

export interface CloseInfo {
  code: number
  reason: string
}

// Generous for loopback: only reached when something is actually wrong.
const DEFAULT_DEADLINE_MS = 5_000

export class TestSignalClient {
  /** Resolves when the socket closes, with the code and reason the client received. */
  readonly closed: Promise<CloseInfo>
  private readonly inbox: unknown[] = []
  private waiter: ((message: unknown) => void) | undefined

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: WebSocket.RawData) => {
      const message: unknown = JSON.parse(rawToString(data))
      if (this.waiter) {
        const resolve = this.waiter
        this.waiter = undefined
        resolve(message)
      } else {
        this.inbox.push(message)
      }
    })
    // A server that cuts the connection makes the client emit 'error' (e.g. ECONNRESET) before
    // 'close'; the close is what tests assert on.
    ws.on('error', () => undefined)
    this.closed = new Promise((resolve) => {
      ws.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }))
    })
  }

  static connect(url: string, options: WebSocket.ClientOptions = {}): Promise<TestSignalClient> {
    const ws = new WebSocket(url, options)
    const client = new TestSignalClient(ws)
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client))
      ws.once('error', reject)
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`upgrade refused with HTTP ${res.statusCode}`)),
      )
    })
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message))
  }

  sendRaw(data: string | Buffer, options: { binary?: boolean } = {}): void {
    this.ws.send(data, { binary: options.binary ?? false })
  }

  next(deadlineMs = DEFAULT_DEADLINE_MS): Promise<unknown> {
    const queued = this.inbox.shift()
    if (queued !== undefined) return Promise.resolve(queued)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined
        reject(new Error(`no message within ${deadlineMs} ms`))
      }, deadlineMs)
      this.waiter = (message) => {
        clearTimeout(timer)
        resolve(message)
      }
    })
  }

  /**
   * Round-trips a ping. The server handles one connection's messages in order, so once the
   * pong is back everything this client sent before it has been processed — and anything the
   * server sent this client before it is already in the inbox.
   */
  async sync(): Promise<void> {
    this.send({ type: 'ping' })
    const reply = await this.next()
    if (!isPong(reply)) throw new Error(`expected pong, got ${JSON.stringify(reply)}`)
  }

  /** Messages received so far and not yet taken. */
  pending(): unknown[] {
    return [...this.inbox]
  }

  async waitClosed(deadlineMs = DEFAULT_DEADLINE_MS): Promise<CloseInfo> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not closed within ${deadlineMs} ms`)), deadlineMs)
    })
    try {
      return await Promise.race([this.closed, deadline])
    } finally {
      clearTimeout(timer)
    }
  }

  close(): Promise<CloseInfo> {
    if (this.ws.readyState === WebSocket.CLOSED) return this.closed
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate()
    else this.ws.close()
    return this.closed
  }
}

function isPong(message: unknown): boolean {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { type?: unknown }).type === 'pong'
  )
}

function rawToString(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}

/** Opens a WebSocket expecting the upgrade to be refused; resolves with the HTTP status. */
export function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      ws.terminate()
    })
    ws.once('open', () => {
      ws.terminate()
      reject(new Error(`upgrade to ${url} was accepted`))
    })
    ws.once('error', (error) => reject(error))
  })
}
