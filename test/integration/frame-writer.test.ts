// The frames FrameWriter writes straight to a socket, read back by a stock `ws` client: every
// payload-length encoding (7-bit, 16-bit, 64-bit and their edges; large payloads written after
// their header uncopied), text and binary, in order with what ws itself sends on the same
// socket, and nothing once the socket is closing.

import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { FrameWriter } from '../../signaling/frame-writer'

const servers: WebSocketServer[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    for (const client of server.clients) client.terminate()
    await new Promise((resolve) => server.close(resolve))
  }
})

interface Received {
  data: Buffer
  binary: boolean
}

/** A server on port 0 whose connection `serve` handles, and a client recording from the start. */
async function connected(
  serve: (ws: WebSocket, request: IncomingMessage) => void,
): Promise<{ received: Received[]; closed: Promise<number> }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  servers.push(server)
  server.on('connection', serve)
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as AddressInfo
  const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false })
  // Listening before the handshake ends: frames sent at once arrive with the 101 response.
  const received: Received[] = []
  client.on('message', (data: Buffer, binary: boolean) => received.push({ data, binary }))
  const closed = new Promise<number>((resolve) => client.once('close', resolve))
  return { received, closed }
}

const SIZES = [0, 1, 125, 126, 127, 65_535, 65_536, 200_000]

describe('FrameWriter', () => {
  it('writes binary payloads of every length encoding as ws reads them', async () => {
    const payloads = SIZES.map((size) => Uint8Array.from({ length: size }, (_, i) => i % 251))
    const writer = new FrameWriter('binary')
    const { received } = await connected((ws, request) => {
      for (const payload of payloads) writer.send(ws, request.socket, payload)
    })
    await expect.poll(() => received.length).toBe(payloads.length)
    expect(received.map((m) => m.binary)).toEqual(payloads.map(() => true))
    expect(received.map((m) => new Uint8Array(m.data))).toEqual(payloads)
  })

  it('writes the same text message to several sockets as text frames', async () => {
    const writer = new FrameWriter('text')
    const message = Buffer.from(JSON.stringify({ type: 'publish', topic: 'é' }), 'utf8')
    for (let i = 0; i < 3; i++) {
      const { received } = await connected((ws, request) =>
        writer.send(ws, request.socket, message),
      )
      await expect.poll(() => received.length).toBe(1)
      expect(received[0].binary).toBe(false)
      expect(JSON.parse(received[0].data.toString('utf8'))).toEqual({ type: 'publish', topic: 'é' })
    }
  })

  it('keeps order with what ws sends itself, and sends nothing once closing', async () => {
    const writer = new FrameWriter('binary')
    const { received, closed } = await connected((ws, request) => {
      writer.send(ws, request.socket, Uint8Array.of(1))
      ws.send(Uint8Array.of(2))
      writer.send(ws, request.socket, Uint8Array.of(3))
      ws.close(4000, 'done')
      writer.send(ws, request.socket, Uint8Array.of(4))
    })
    expect(await closed).toBe(4000)
    expect(received.map((m) => m.data[0])).toEqual([1, 2, 3])
  })
})
