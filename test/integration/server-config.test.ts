// The app's server configuration (src/net/server-config.ts) against a real HTTP server on port 0:
// the last configuration seen is there at once, a server that never answers costs a bounded
// wait and changes nothing, and whatever the server sends is checked before use.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ServerConfigSource } from '../../src/net/server-config'

/** Storage as the browser's localStorage behaves, for Node. */
class MemoryStorage implements Storage {
  private readonly items = new Map<string, string>()
  get length(): number {
    return this.items.size
  }
  clear(): void {
    this.items.clear()
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null
  }
  key(index: number): string | null {
    return [...this.items.keys()][index] ?? null
  }
  removeItem(key: string): void {
    this.items.delete(key)
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value)
  }
}

let server: Server | undefined
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined))
  server = undefined
})

/** A server whose /config.json is answered by `respond`; returns its base URL. */
async function serve(respond: (res: import('node:http').ServerResponse) => void): Promise<URL> {
  server = createServer((req, res) => {
    if (req.url === '/config.json') respond(res)
    else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
}

const json = (body: unknown) => (res: import('node:http').ServerResponse) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))

describe('ServerConfigSource', () => {
  it('starts from a stock server on a first visit, then keeps what the server said', async () => {
    const base = await serve(json({ signaling: ['/signal'], relay: null, stunPort: null }))
    const storage = new MemoryStorage()
    const first = new ServerConfigSource({ storage, base })
    expect(first.seenBefore).toBe(false)
    expect(first.current().relayUrl).toBe(`ws://127.0.0.1:${base.port}/relay`)
    const fresh = await first.refresh()
    expect(fresh).toEqual({
      signalingUrls: [`ws://127.0.0.1:${base.port}/signal`],
      iceServers: [],
      relayUrl: null,
    })
    const next = new ServerConfigSource({ storage, base })
    expect(next.seenBefore).toBe(true)
    expect(next.current()).toEqual(fresh)
  })

  it('gives up on a server that never answers within its timeout, keeping the last config', async () => {
    const base = await serve(() => undefined) // accepted, never answered: a black hole
    const storage = new MemoryStorage()
    storage.setItem('parley:server-config', JSON.stringify({ signaling: ['/s'], relay: '/r' }))
    const source = new ServerConfigSource({ storage, base, timeoutMs: 300 })
    const before = source.current()
    const started = Date.now()
    expect(await source.refresh()).toBeNull()
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(source.current()).toEqual(before)
  })

  it('drops what is not a valid entry, and survives a corrupt cache', async () => {
    const base = await serve(
      json({
        signaling: ['/signal', 7, null],
        relay: { not: 'a path' },
        stunPort: 70_000,
        iceServers: [{ urls: 'stun:example.org' }, { urls: [] }, 'turn:x', { urls: 5 }],
      }),
    )
    const storage = new MemoryStorage()
    storage.setItem('parley:server-config', '{not json')
    const source = new ServerConfigSource({ storage, base })
    expect(source.seenBefore).toBe(false)
    expect(await source.refresh()).toEqual({
      signalingUrls: [`ws://127.0.0.1:${base.port}/signal`],
      iceServers: [{ urls: 'stun:example.org' }],
      relayUrl: null,
    })
  })

  it('keeps the last config when the server answers with an error or not JSON', async () => {
    const base = await serve((res) => res.writeHead(200).end('<html>captive portal</html>'))
    const storage = new MemoryStorage()
    const source = new ServerConfigSource({ storage, base })
    expect(await source.refresh()).toBeNull()
    expect(storage.getItem('parley:server-config')).toBeNull()
  })
})
