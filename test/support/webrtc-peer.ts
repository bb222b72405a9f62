// One real y-webrtc peer in its own Node process, driven over IPC by a WebRTC integration test
// (protocol in webrtc-peer-protocol.ts). Data channels come from @roamhq/wrtc; each peer only
// accepts the other's loopback candidates, so every connectivity check goes to 127.0.0.1 / ::1
// (or, peer-reflexively, to the host address it came from): traffic never leaves the machine.
//
// Which y-webrtc build is loaded is chosen by PARLEY_TEST_Y_WEBRTC:
//   unset      the package's `import` export (src/y-webrtc.js, what Vite bundles; the only
//              build patched: the `require` one refuses to load)
//   a path     that file (e.g. an unpatched copy, to show by hand what the patch fixes)

import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import * as decoding from 'lib0/decoding'
import WebSocket from 'ws'
import type * as YModule from 'yjs'
import type * as YWebrtcModule from 'y-webrtc'
import type { PeerLog, PeerReply, PeerRequest, PeerStatus } from './webrtc-peer-protocol'
import { seededRandom } from './seeded-random'

// Node 20 has no global WebSocket; y-webrtc's signaling client (lib0/websocket) needs one.
globalThis.WebSocket = WebSocket as unknown as typeof globalThis.WebSocket

const require = createRequire(import.meta.url)

/** The part of a simple-peer instance this harness uses (y-webrtc types it as `any`). */
interface SimplePeerLike {
  readonly connected: boolean
  readonly localAddress?: string
  readonly localPort?: number
  readonly remoteAddress?: string
  readonly remotePort?: number
  on(event: 'data', listener: (data: Uint8Array) => void): void
  on(event: 'connect' | 'close', listener: () => void): void
  send(data: Uint8Array): void
}

interface SessionDescriptionLike {
  type: string
  sdp?: string
}

interface IceCandidateLike {
  candidate?: string
}

interface WrtcModule {
  RTCPeerConnection: new (config?: unknown) => {
    setRemoteDescription(description: SessionDescriptionLike): Promise<void>
    addIceCandidate(candidate: IceCandidateLike | null): Promise<void>
  }
}

function send(message: PeerReply | PeerLog, then?: () => void): void {
  process.send?.(message, undefined, undefined, then)
}

// y-webrtc reports malformed input with console.warn / console.error: hand those to the test.
for (const level of ['warn', 'error'] as const) {
  console[level] = (...args: unknown[]) => {
    send({ log: level, text: args.map(describe).join(' ') })
  }
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`
  return typeof value === 'string' ? value : JSON.stringify(value)
}

const choice = process.env.PARLEY_TEST_Y_WEBRTC
const Y: typeof YModule = await import('yjs')
const { WebrtcProvider }: typeof YWebrtcModule = choice
  ? ((await import(pathToFileURL(choice).href)) as typeof YWebrtcModule)
  : await import('y-webrtc')

const wrtc = require('@roamhq/wrtc') as WrtcModule

/** Field 5 of an ICE candidate line is its address. */
function isLoopbackCandidate(line: string): boolean {
  const address = line.replace(/^a=/, '').split(' ')[4] ?? ''
  return address.startsWith('127.') || address === '::1'
}

// wrtc gathers host candidates on every interface (eth0 included) and cannot be told otherwise.
// Each peer ignores the remote's non-loopback candidates, in the SDP and trickled. (In a network
// namespace with only `lo`, wrtc connects 127.0.0.1 <-> 127.0.0.1 as well.)
class LoopbackPeerConnection extends wrtc.RTCPeerConnection {
  override setRemoteDescription(description: SessionDescriptionLike): Promise<void> {
    const sdp = description.sdp
      ?.split('\r\n')
      .filter((line) => !line.startsWith('a=candidate:') || isLoopbackCandidate(line))
      .join('\r\n')
    return super.setRemoteDescription({ type: description.type, sdp })
  }

  override addIceCandidate(candidate: IceCandidateLike | null): Promise<void> {
    const line = candidate?.candidate
    if (line && !isLoopbackCandidate(line)) return Promise.resolve()
    return super.addIceCandidate(candidate)
  }
}

const loopbackWrtc = { ...wrtc, RTCPeerConnection: LoopbackPeerConnection }

const doc = new Y.Doc()
const records = doc.getArray<Uint8Array>('records')
let provider: YWebrtcModule.WebrtcProvider | null = null
let connectedAt = 0
let lastRecordsChangeAt = 0
let msToLength: number | null = null
let receivedFrames = 0
let receivedBytes = 0
let largestFrame = 0
const receivedByPeer = new Map<string, number>()
const syncStep2From = new Set<string>()
const hookedPeers = new WeakSet<SimplePeerLike>()
/** Re-run on every change a waiter may care about (doc update, channel open or close). */
const waiters = new Set<() => void>()
const notify = (): void => waiters.forEach((check) => check())

records.observe(() => {
  lastRecordsChangeAt = performance.now()
  notify()
})

function conns(): YWebrtcModule.WebrtcConn[] {
  return Array.from(provider?.room?.webrtcConns.values() ?? [])
}

function peers(): SimplePeerLike[] {
  return conns().map((conn) => conn.peer as SimplePeerLike)
}

/** Count what arrives on each data channel; y-webrtc's own 'data' listener is unaffected. */
function hookPeers(): void {
  for (const conn of conns()) {
    const peer = conn.peer as SimplePeerLike
    if (hookedPeers.has(peer)) continue
    hookedPeers.add(peer)
    peer.on('data', (data) => {
      receivedFrames += 1
      receivedBytes += data.byteLength
      largestFrame = Math.max(largestFrame, data.byteLength)
      const from = conn.remotePeerId
      receivedByPeer.set(from, (receivedByPeer.get(from) ?? 0) + data.byteLength)
      if (completesSyncStep2(conn, data)) syncStep2From.add(from)
      notify()
    })
    peer.on('connect', notify)
    peer.on('close', notify)
  }
}

// The y-webrtc wire format, as patches/README.md documents it: a message starts with its type
// (varUint); type 0 is a y-protocols sync message whose next varUint 1 means sync step 2; type 5
// is one chunk of a larger message: varUint total size, varUint offset, then the payload.
const MESSAGE_SYNC = 0
const SYNC_STEP_2 = 1
const MESSAGE_CHUNK = 5
const chunkedSyncStep2 = new WeakMap<object, boolean>()

function isSyncStep2(message: Uint8Array): boolean {
  return message[0] === MESSAGE_SYNC && message[1] === SYNC_STEP_2
}

/** Whether this frame is a whole sync step 2, or the last chunk of one. */
function completesSyncStep2(conn: object, frame: Uint8Array): boolean {
  if (frame[0] !== MESSAGE_CHUNK) return isSyncStep2(frame)
  try {
    const decoder = decoding.createDecoder(frame)
    decoding.readVarUint(decoder)
    const total = decoding.readVarUint(decoder)
    const offset = decoding.readVarUint(decoder)
    const payload = frame.subarray(decoder.pos)
    if (offset === 0) chunkedSyncStep2.set(conn, isSyncStep2(payload))
    return offset + payload.length === total && chunkedSyncStep2.get(conn) === true
  } catch {
    return false // malformed frames are the peer's to reject; they complete nothing
  }
}

function openPeers(): SimplePeerLike[] {
  return peers().filter((peer) => peer.connected)
}

function status(): PeerStatus {
  const hash = createHash('sha256')
  for (const record of records) hash.update(record)
  return {
    length: records.length,
    digest: hash.digest('hex'),
    docBytes: Y.encodeStateAsUpdate(doc).byteLength,
    receivedFrames,
    receivedBytes,
    receivedBytesByPeer: Array.from(receivedByPeer.values()).sort((a, b) => b - a),
    largestFrame,
    openChannels: openPeers().length,
    syncStep2Peers: syncStep2From.size,
    webrtcPeers: Array.from(provider?.room?.webrtcConns.keys() ?? []),
    bcPeers: Array.from(provider?.room?.bcConns ?? []),
    candidatePairs: openPeers().map(
      (peer) =>
        `${peer.localAddress}:${peer.localPort} <-> ${peer.remoteAddress}:${peer.remotePort}`,
    ),
    msToLength,
  }
}

/**
 * Resolves when `done()` holds, re-checked on every notify(), with whether it held at once;
 * rejects after `timeoutMs`, saying what it waited for.
 */
function waitUntil(done: () => boolean, timeoutMs: number, what: () => string): Promise<boolean> {
  let atOnce = true
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!done()) {
        atOnce = false
        return
      }
      cleanup()
      resolve(atOnce)
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`))
    }, timeoutMs)
    const cleanup = (): void => {
      clearTimeout(timer)
      waiters.delete(check)
    }
    waiters.add(check)
    check()
  })
}

async function handle(request: PeerRequest): Promise<unknown> {
  switch (request.op) {
    case 'fill': {
      const random = seededRandom(request.seed)
      const write = (): void => {
        for (let i = 0; i < request.count; i++) records.push([random.bytes(request.recordBytes)])
      }
      if (request.oneTransaction) doc.transact(write)
      else write()
      return { length: records.length }
    }
    case 'connect': {
      if (provider) throw new Error('already connected')
      connectedAt = performance.now()
      provider = new WebrtcProvider(request.room, doc, {
        signaling: request.signaling,
        password: request.password,
        peerOpts: { wrtc: loopbackWrtc, config: { iceServers: [] } },
      })
      provider.on('peers', () => {
        hookPeers()
        notify()
      })
      return null
    }
    case 'waitForLength': {
      const atOnce = await waitUntil(
        () => records.length >= request.length,
        request.timeoutMs,
        () => `${request.length} records (have ${records.length})`,
      )
      // Records only grow here: if the length was already there, the last change reached it.
      msToLength = Math.round((atOnce ? lastRecordsChangeAt : performance.now()) - connectedAt)
      return status()
    }
    case 'waitForOpenChannels': {
      await waitUntil(
        () => openPeers().length >= request.count,
        request.timeoutMs,
        () => `${request.count} open data channels (have ${openPeers().length})`,
      )
      return status()
    }
    case 'waitForSyncStep2': {
      await waitUntil(
        () => syncStep2From.size >= request.count,
        request.timeoutMs,
        () => `sync step 2 from ${request.count} peers (have ${syncStep2From.size})`,
      )
      return status()
    }
    case 'status':
      return status()
    case 'sendRaw': {
      const open = openPeers()
      for (const peer of open) {
        for (const frame of request.frames) peer.send(Buffer.from(frame, 'base64'))
      }
      return { sentTo: open.length }
    }
    case 'destroy': {
      if (provider) {
        provider.destroy()
        // y-webrtc destroys its room only once the password key is derived; wait for that.
        await provider.key
      }
      doc.destroy()
      return null
    }
  }
}

process.on('message', (message: { id: number } & PeerRequest) => {
  // After `destroy` the process has nothing left to do: exit once the reply is out.
  const then = message.op === 'destroy' ? () => process.exit(0) : undefined
  handle(message).then(
    (result) => send({ id: message.id, ok: true, result }, then),
    (error: unknown) => send({ id: message.id, ok: false, error: describe(error) }, then),
  )
})

// The test that started this peer is gone (finished, crashed or killed): so is the peer.
process.on('disconnect', () => process.exit(0))
