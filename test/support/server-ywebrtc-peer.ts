// One stock y-webrtc peer in its own process (y-webrtc keeps rooms in module state, so two peers
// in one process would share them). Run as `node --import tsx server-ywebrtc-peer.ts` with an
// IPC channel; configured by environment, driven by IPC commands, reporting events over IPC.
//
//   env      PARLEY_SIGNAL_URL, PARLEY_ROOM, PARLEY_PASSWORD
//   parent → {cmd:'write', text}   append to the shared Y.Text and push onto the Y.Array
//            {cmd:'exit'}          destroy the provider and exit 0
//   child →  {event:'ready'}                        provider created, room key derived
//            {event:'channel-open', peer, route}    a WebRTC data channel to `peer` is open;
//                                                   route = the ICE candidate pair it uses
//            {event:'doc', text, items}             the document changed (any origin)
//            {event:'fatal', message}               something threw; the child exits 1

import wrtc from '@roamhq/wrtc'
import WebSocket from 'ws'
import { WebrtcProvider } from 'y-webrtc'
import * as Y from 'yjs'

export type PeerCommand = { cmd: 'write'; text: string } | { cmd: 'exit' }
export type PeerEvent =
  | { event: 'ready' }
  | { event: 'channel-open'; peer: string; route: CandidatePair | undefined }
  | { event: 'doc'; text: string; items: string[] }
  | { event: 'fatal'; message: string }

// An orphaned child (parent killed before cleanup) must not live on: longer than any test.
const WATCHDOG_MS = 120_000

// Node 20 has no global WebSocket; y-webrtc's signaling client (lib0) expects one.
;(globalThis as { WebSocket?: unknown }).WebSocket = WebSocket

function report(event: PeerEvent): void {
  process.send?.(event)
}

function required(name: string): string {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set`)
  return value
}

/** Where a data channel actually goes: the nominated ICE candidate pair. */
export interface CandidatePair {
  local: CandidateInfo
  remote: CandidateInfo
}
export interface CandidateInfo {
  address: string
  port: number
  protocol: string
  candidateType: string
}

interface SimplePeerLike {
  once(event: 'connect', listener: () => void): void
  _pc: { getStats(): Promise<Map<string, RtcStatsEntry>> }
}

// The few RTCStats fields read here, across the transport, candidate-pair and candidate types.
interface RtcStatsEntry {
  type: string
  selectedCandidatePairId?: string
  localCandidateId?: string
  remoteCandidateId?: string
  address?: string
  ip?: string
  port?: number
  protocol?: string
  candidateType?: string
}

async function selectedPair(peer: SimplePeerLike): Promise<CandidatePair | undefined> {
  const stats = await peer._pc.getStats()
  const describe = (id: string | undefined): CandidateInfo => {
    const candidate = stats.get(id ?? '')
    return {
      address: candidate?.address ?? candidate?.ip ?? 'unknown',
      port: candidate?.port ?? 0,
      protocol: candidate?.protocol ?? 'unknown',
      candidateType: candidate?.candidateType ?? 'unknown',
    }
  }
  // The transport names the pair in use; `nominated` on the pair itself may lag behind.
  for (const entry of stats.values()) {
    if (entry.type !== 'transport' || entry.selectedCandidatePairId === undefined) continue
    const pair = stats.get(entry.selectedCandidatePairId)
    if (pair)
      return { local: describe(pair.localCandidateId), remote: describe(pair.remoteCandidateId) }
  }
  return undefined
}

async function run(): Promise<void> {
  if (!process.send) throw new Error('run me with an IPC channel (child_process.fork/spawn ipc)')
  setTimeout(() => process.exit(3), WATCHDOG_MS).unref()
  // The parent went away: nobody will ever send 'exit'.
  process.on('disconnect', () => process.exit(0))

  const doc = new Y.Doc()
  const text = doc.getText('text')
  const items = doc.getArray<string>('items')
  const provider = new WebrtcProvider(required('PARLEY_ROOM'), doc, {
    signaling: [required('PARLEY_SIGNAL_URL')],
    password: required('PARLEY_PASSWORD'),
    // No STUN/TURN: simple-peer would otherwise add public servers (TESTING.md).
    peerOpts: { wrtc, config: { iceServers: [] } },
  })
  // Await the key before anything else: destroying before it is derived rejects unhandled.
  await provider.key

  doc.on('update', () => report({ event: 'doc', text: text.toJSON(), items: items.toArray() }))
  provider.on('peers', ({ added }: { added: string[] }) => {
    for (const peerId of added) {
      const conn = provider.room?.webrtcConns.get(peerId) as { peer: SimplePeerLike } | undefined
      // simple-peer's 'connect' fires when the data channel is open: "reached directly".
      conn?.peer.once('connect', () => {
        selectedPair(conn.peer).then(
          (route) => report({ event: 'channel-open', peer: peerId, route }),
          (error: unknown) =>
            report({ event: 'fatal', message: `getStats failed: ${String(error)}` }),
        )
      })
    }
  })

  process.on('message', (command: PeerCommand) => {
    switch (command.cmd) {
      case 'write':
        doc.transact(() => {
          text.insert(text.length, command.text)
          items.push([command.text])
        })
        return
      case 'exit':
        provider.destroy()
        doc.destroy()
        // wrtc's native threads can keep the event loop alive after destroy.
        process.exit(0)
    }
  })
  report({ event: 'ready' })
}

run().catch((error: unknown) => {
  report({
    event: 'fatal',
    message: error instanceof Error ? (error.stack ?? error.message) : String(error),
  })
  process.exit(1)
})
