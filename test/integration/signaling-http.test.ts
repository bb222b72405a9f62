// The HTTP side of the Parley server: /config.json, /healthz, the built app with its caching and
// security headers, upgrade routing, and shutdown.

import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { CloseCode } from '../../signaling/close-codes'
import { NOT_BUILT_MESSAGE } from '../../signaling/static'
import { makeTempDir, startTestServer, type TestServer } from '../support/server-harness'
import { TestSignalClient, upgradeStatus } from '../support/server-signal-client'

const INDEX_HTML =
  '<!doctype html><title>Parley</title><script type="module" src="/assets/index-Ab12Cd.js"></script>'

async function writeDist(dir: string): Promise<void> {
  await mkdir(join(dir, 'assets'), { recursive: true })
  await writeFile(join(dir, 'index.html'), INDEX_HTML)
  await writeFile(join(dir, 'assets', 'index-Ab12Cd.js'), 'console.log("app")')
  await writeFile(join(dir, 'sw.js'), 'self.addEventListener("fetch", () => {})')
  await writeFile(join(dir, 'manifest.webmanifest'), '{"name":"Parley"}')
}

function expectSecurityHeaders(response: Response): void {
  expect(response.headers.get('referrer-policy')).toBe('no-referrer')
  expect(response.headers.get('x-content-type-options')).toBe('nosniff')
  const csp = response.headers.get('content-security-policy') ?? ''
  expect(csp).toContain("script-src 'self'")
  expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/)
  expect(csp).toContain("connect-src 'self' ws: wss:")
  expect(csp).toContain("worker-src 'self'")
}

describe('with a built app', () => {
  let harness: TestServer
  let dist: Awaited<ReturnType<typeof makeTempDir>>
  const get = (path: string, init?: RequestInit) => fetch(`${harness.server.url}${path}`, init)

  beforeAll(async () => {
    dist = await makeTempDir('parley-dist-')
    await writeDist(dist.dir)
    harness = await startTestServer({
      distDir: dist.dir,
      iceServers: [
        { urls: 'stun:stun.example.org:3478' },
        { urls: ['turn:turn.example.org:3478'], username: 'u', credential: 'c' },
      ],
    })
  })

  afterAll(async () => {
    await harness.close()
    await dist.remove()
  })

  it('reports the URL with the port actually bound', () => {
    expect(harness.server.port).toBeGreaterThan(0)
    expect(harness.server.url).toBe(`http://127.0.0.1:${harness.server.port}`)
  })

  it('serves index.html with the security headers and no caching', async () => {
    const response = await get('/')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/html/)
    expect(response.headers.get('cache-control')).toBe('no-cache')
    expectSecurityHeaders(response)
    expect(await response.text()).toBe(INDEX_HTML)
  })

  it('falls back to index.html for client-side routes', async () => {
    const response = await get('/room/some-route?x=1')
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-cache')
    expect(await response.text()).toBe(INDEX_HTML)
  })

  it('caches hashed assets as immutable', async () => {
    const response = await get('/assets/index-Ab12Cd.js')
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expectSecurityHeaders(response)
  })

  it('never caches the fallback as immutable, even under /assets/', async () => {
    const response = await get('/assets/not-a-file')
    expect(await response.text()).toBe(INDEX_HTML)
    expect(response.headers.get('cache-control')).toBe('no-cache')
  })

  it('answers 404 for a missing file instead of the fallback', async () => {
    const response = await get('/assets/missing-Zz99.js')
    expect(response.status).toBe(404)
    expectSecurityHeaders(response)
  })

  it('revalidates the service worker and manifest on every load', async () => {
    for (const path of ['/sw.js', '/manifest.webmanifest']) {
      const response = await get(path)
      expect(response.status).toBe(200)
      expect(response.headers.get('cache-control')).toBe('no-cache')
    }
  })

  it('answers a revalidation with 304', async () => {
    const first = await get('/')
    const etag = first.headers.get('etag')
    expect(etag).toBeTruthy()
    const second = await get('/', { headers: { 'If-None-Match': etag ?? '' } })
    expect(second.status).toBe(304)
  })

  it('serves /config.json with the ICE servers, signaling path and relay path', async () => {
    const response = await get('/config.json')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/json')
    expect(response.headers.get('cache-control')).toBe('no-store')
    expectSecurityHeaders(response)
    expect(await response.json()).toEqual({
      iceServers: [
        { urls: 'stun:stun.example.org:3478' },
        { urls: ['turn:turn.example.org:3478'], username: 'u', credential: 'c' },
      ],
      signaling: ['/signal'],
      relay: '/relay',
      stunPort: null,
    })
  })

  it('serves /healthz', async () => {
    const response = await get('/healthz')
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('ok')
  })

  it('refuses methods other than GET and HEAD', async () => {
    const response = await get('/', { method: 'POST', body: 'x' })
    expect(response.status).toBe(405)
    expect(response.headers.get('allow')).toBe('GET, HEAD')
    expect((await get('/healthz', { method: 'HEAD' })).status).toBe(200)
  })

  it('refuses WebSocket upgrades to unknown paths with 404', async () => {
    // (`/relay/<anything>` is the relay's: it refuses bad room ids itself, with a close code.)
    expect(await upgradeStatus(harness.wsUrl('/relay'))).toBe(404)
    expect(await upgradeStatus(harness.wsUrl('/'))).toBe(404)
    expect(await upgradeStatus(harness.wsUrl('/signal/extra'))).toBe(404)
    // And the server is none the worse for it.
    const client = await TestSignalClient.connect(harness.wsUrl('/signal?any=query'))
    await client.sync()
    await client.close()
  })
})

describe('without a built app', () => {
  it('answers 503 with a hint, then serves the app once it is built, without a restart', async () => {
    const dist = await makeTempDir('parley-unbuilt-')
    const harness = await startTestServer({ distDir: dist.dir })
    try {
      for (const path of ['/', '/room/x', '/assets/index-Ab12Cd.js']) {
        const response = await fetch(`${harness.server.url}${path}`)
        expect(response.status).toBe(503)
        expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
        expectSecurityHeaders(response)
        expect(await response.text()).toContain(NOT_BUILT_MESSAGE)
      }
      expect(NOT_BUILT_MESSAGE).toBe('App not built: run `npm run build`')
      // Config and health do not depend on the build.
      expect((await fetch(`${harness.server.url}/healthz`)).status).toBe(200)
      expect((await fetch(`${harness.server.url}/config.json`)).status).toBe(200)

      await writeDist(dist.dir)
      const response = await fetch(`${harness.server.url}/`)
      expect(response.status).toBe(200)
      expect(await response.text()).toBe(INDEX_HTML)
    } finally {
      await harness.close()
      await dist.remove()
    }
  })
})

describe('shutdown', () => {
  it('closes every socket with 1001, stops listening, and can be called twice', async () => {
    const harness = await startTestServer()
    const a = await TestSignalClient.connect(harness.wsUrl('/signal'))
    const b = await TestSignalClient.connect(harness.wsUrl('/signal'))
    a.send({ type: 'subscribe', topics: ['room'] })
    await a.sync()

    await Promise.all([harness.server.close(), harness.server.close()])
    for (const client of [a, b]) {
      expect(await client.waitClosed()).toEqual({
        code: CloseCode.GOING_AWAY,
        reason: 'server shutting down',
      })
    }
    await harness.close() // a third time, through the harness

    const refused = new WebSocket(harness.wsUrl('/signal'))
    const error = await new Promise<Error>((resolve) => refused.once('error', resolve))
    expect(error.message).toMatch(/ECONNREFUSED/)
  })

  it('closes promptly even when a client never answers the close handshake', async () => {
    const harness = await startTestServer()
    const client = await TestSignalClient.connect(harness.wsUrl('/signal'))
    // Pause the client's socket so it cannot read our close frame, let alone answer it.
    const raw = (client.ws as unknown as { _socket: import('node:net').Socket })._socket
    raw.pause()
    // Without the server's own grace period `ws` would wait 30 s for the handshake.
    let deadline: NodeJS.Timeout | undefined
    const closedInTime = await Promise.race([
      harness.close().then(() => true),
      new Promise<false>((resolve) => (deadline = setTimeout(() => resolve(false), 10_000))),
    ])
    clearTimeout(deadline)
    expect(closedInTime).toBe(true)
    raw.resume()
    // The close frame was already in the client's receive buffer when the server cut the
    // socket, so the client may read it (1001) or see the cut (1006).
    expect([CloseCode.GOING_AWAY, 1006]).toContain((await client.waitClosed()).code)
  })

  it('reports a port already in use clearly', async () => {
    const first = await startTestServer()
    try {
      await expect(startTestServer({ port: first.server.port })).rejects.toThrow(
        /port already in use/,
      )
    } finally {
      await first.close()
    }
  })
})
