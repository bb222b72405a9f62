// The IPC protocol between a WebRTC integration test and its peer processes
// (test/support/webrtc-peer.ts). One y-webrtc peer per process, because y-webrtc keeps its rooms
// in module state and same-process peers would also find each other over BroadcastChannel.

export type PeerRequest =
  /**
   * Append `count` records of `recordBytes` seeded random bytes: one transaction each, as a chat
   * writes them, or all in one transaction (`oneTransaction`), which makes one large update.
   */
  | { op: 'fill'; count: number; recordBytes: number; seed: number; oneTransaction?: boolean }
  /** Start a WebrtcProvider for `room` against our signaling server(s), ICE servers empty. */
  | { op: 'connect'; signaling: string[]; room: string; password: string }
  /** Resolves once the record array holds at least `length` records (event-driven). */
  | { op: 'waitForLength'; length: number; timeoutMs: number }
  /** Resolves once `count` data channels are open. */
  | { op: 'waitForOpenChannels'; count: number; timeoutMs: number }
  /** Resolves once `count` peers' answers to our sync step 1 (sync step 2) arrived in full. */
  | { op: 'waitForSyncStep2'; count: number; timeoutMs: number }
  | { op: 'status' }
  /** Send these frames (base64) as they are to every open data channel, bypassing y-webrtc. */
  | { op: 'sendRaw'; frames: string[] }
  | { op: 'destroy' }

export type PeerReply =
  { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string }

/** Something the peer wrote to the console (y-webrtc's warnings and errors land here). */
export interface PeerLog {
  log: 'warn' | 'error'
  text: string
}

export type PeerMessage = PeerReply | PeerLog

export interface PeerStatus {
  /** Records in the room's array. */
  length: number
  /** SHA-256 (hex) over every record in array order: equal digests mean equal rooms. */
  digest: string
  /** Size of `Y.encodeStateAsUpdate(doc)`: what one full copy of the room costs on the wire. */
  docBytes: number
  /** Data-channel messages and bytes received from remote peers since `connect`. */
  receivedFrames: number
  receivedBytes: number
  /** Bytes received from each remote peer, largest first. */
  receivedBytesByPeer: number[]
  /** The largest single data-channel message received. */
  largestFrame: number
  /** Remote peers whose data channel is open right now. */
  openChannels: number
  /**
   * Peers whose sync step 2 arrived in full, read off the wire by the harness (y-webrtc's own
   * per-peer `synced` flag stays false for a peer that answers after the room counted as synced).
   */
  syncStep2Peers: number
  webrtcPeers: string[]
  /** Peers seen over BroadcastChannel: must stay empty, each peer has its own process. */
  bcPeers: string[]
  /** `local address <-> remote address` of each open connection's selected candidate pair. */
  candidatePairs: string[]
  /** Milliseconds from `connect` until the array first reached the length awaited last. */
  msToLength: number | null
}

export function isPeerMessage(value: unknown): value is PeerMessage {
  if (typeof value !== 'object' || value === null) return false
  return 'id' in value || 'log' in value
}
