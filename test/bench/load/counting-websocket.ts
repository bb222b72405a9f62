// A `ws` WebSocket for y-websocket's WebSocketPolyfill option that counts the payload bytes it
// sends and receives (frame payloads, without WebSocket framing or TCP/IP headers).
import { WebSocket } from 'ws'

export interface ByteCounter {
  sent: number
  received: number
}

export function countingWebSocket(counter: ByteCounter): typeof globalThis.WebSocket {
  class CountingWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      this.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
        counter.received += Array.isArray(data)
          ? data.reduce((n, b) => n + b.byteLength, 0)
          : data.byteLength
      })
    }

    override send(data: Uint8Array | string, ...rest: unknown[]): void {
      counter.sent += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength
      ;(super.send as (...args: unknown[]) => void)(data, ...rest)
    }
  }
  return CountingWebSocket as unknown as typeof globalThis.WebSocket
}
