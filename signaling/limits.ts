// Limits on what one signaling connection may send and hold. Signaling traffic is small and
// sparse (an announce, an offer or answer, a few ICE candidates per peer), so each limit sits
// well above what a stock y-webrtc client sends and well below what would let one connection
// hurt the others.

export interface SignalingLimits {
  /** Largest WebSocket message accepted, in bytes (`ws` maxPayload; larger closes with 1009). */
  maxPayloadBytes: number
  /** Topics (rooms) one connection may be subscribed to at once. */
  maxTopicsPerConnection: number
  /** Longest topic name, in UTF-16 code units. */
  maxTopicLength: number
  /** Messages a connection may send in a burst (token bucket capacity). */
  messageBurst: number
  /** Sustained messages per second a connection may send (token bucket refill rate). */
  messagesPerSecond: number
  /** Bytes queued for a client that does not read before it is dropped as too slow. */
  maxBufferedBytes: number
  /** Interval between WebSocket pings; a client that has not answered the last one is dropped. */
  heartbeatIntervalMs: number
}

export const DEFAULT_SIGNALING_LIMITS: Readonly<SignalingLimits> = Object.freeze({
  // y-webrtc publishes encrypted, base64-encoded JSON: an SDP offer or answer is 1–4 KB before
  // that, ~6 KB after. 64 KiB is 10x headroom, still fits a maximal subscribe (256 topics of
  // 128 chars ≈ 34 KB), and bounds one publish's fan-out to 64 KiB per subscriber.
  maxPayloadBytes: 64 * 1024,
  // y-webrtc subscribes one signaling connection to every room open in the tab. 256 is more
  // rooms than a person keeps open at once, and caps a connection's topic names at ~32 KB.
  maxTopicsPerConnection: 256,
  // Parley room ids are 43 characters (base64url SHA-256); 128 leaves room for other stock
  // clients' human-readable room names without letting topic names carry payload.
  maxTopicLength: 128,
  // A newcomer to a room of ~35 peers (y-webrtc's maxConns is 20–35) answers each of them and
  // trickles ~10 ICE candidates per connection: ~400 messages in a few seconds.
  messageBurst: 400,
  // Failing ICE makes y-webrtc retry every ~15 s per peer, forever: ~12 messages per attempt,
  // so 30 unreachable peers sustain ~24 messages/s. 40/s covers that with margin.
  messagesPerSecond: 40,
  // 16 maximal messages. A live client drains signaling traffic at once; a client that lets
  // 1 MiB pile up is not reading and would otherwise grow the server's memory without bound.
  maxBufferedBytes: 1024 * 1024,
  // Stock y-webrtc signaling server value. Clients also ping at the application level every
  // 15 s, so a dead connection is found within 30–60 s either way.
  heartbeatIntervalMs: 30_000,
})

/**
 * Connections one client address may hold open at once, across `/signal` and `/relay` together
 * (IPv6 addresses count per /64, the block one subscriber usually gets). A person holds one
 * signaling socket per tab and one relay socket per open room: 128 covers a household or small
 * office behind one NAT (~10 people, a few tabs, a dozen rooms each) while one host cannot tie
 * up thousands of sockets.
 */
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 128

// Limits on the relay (`/relay/<roomId>`). Relay traffic is one stock y-websocket client per
// open room: a sync exchange on connect (which can carry a whole room), then one message per
// local transaction and an awareness renewal every 15 s.

export interface RelayLimits {
  /** Largest WebSocket message accepted, in bytes (`ws` maxPayload; larger closes with 1009). */
  maxPayloadBytes: number
  /** Bytes the relay stores for one room; an update that would pass it closes with 4409. */
  maxRoomBytes: number
  /** Structs a loaded room may hold (plus the entries an update adds); past it, 4409 too. */
  maxRoomStructs: number
  /** Largest awareness (presence) update accepted, in bytes. */
  maxAwarenessBytes: number
  /** Awareness client ids one connection may publish states for. */
  maxAwarenessClientsPerConnection: number
  /** Frames a connection may send in a burst, whatever they carry (token bucket capacity). */
  messageBurst: number
  /** Sustained frames per second a connection may send (token bucket refill rate). */
  messagesPerSecond: number
  /** Yjs updates (live updates and sync step 2s that carry anything) in a burst. */
  updateBurst: number
  /** Sustained Yjs updates per second. */
  updatesPerSecond: number
  /** Bytes a connection may send in a burst (every frame counts its length). */
  byteBurst: number
  /** Sustained bytes per second. */
  bytesPerSecond: number
  /** Conflict-scan steps integrating one update may take (patches/README.md, yjs). */
  maxIntegrationStepsPerUpdate: number
  /** Conflict-scan steps a connection's updates may take in a burst. */
  integrationStepBurst: number
  /** Sustained conflict-scan steps per second. */
  integrationStepsPerSecond: number
  /** Sync step 1 requests (each answered with the room's missing state) in a burst. */
  syncRequestBurst: number
  /** Sustained sync step 1 requests per second. */
  syncRequestsPerSecond: number
  /** Bytes queued for a client that does not read before it is dropped as too slow. */
  maxBufferedBytes: number
  /** Interval between WebSocket pings; a client that has not answered the last one is dropped. */
  heartbeatIntervalMs: number
  /** A connection sent nothing for a whole interval gets a keepalive message. */
  keepaliveIntervalMs: number
  /** A room with no connections for this long is flushed and unloaded from memory. */
  idleRoomUnloadMs: number
  /** A room's log is compacted into one snapshot once it is larger than this and the snapshot. */
  compactionMinLogBytes: number
}

export const DEFAULT_RELAY_LIMITS: Readonly<RelayLimits> = Object.freeze({
  // A client the relay knows nothing about (a room that grew over WebRTC before it used this
  // relay) sends everything as one sync step 2: y-websocket cannot split it. A room-sized frame
  // must fit, or that client would fail with 1009 and retry forever. ws only holds what a
  // sender has actually sent, and the per-IP limit bounds how many such senders one host is.
  maxPayloadBytes: 32 * 1024 * 1024 + 1024,
  // docs/architecture.md plans for ~100,000 messages per room; signed, encrypted records are ~200–300 B,
  // so such a room is ~30 MB. A loaded Y.Doc costs several times its encoded size in memory,
  // so this is also what bounds one room's share of the relay's heap.
  maxRoomBytes: 32 * 1024 * 1024,
  // Bytes alone do not bound memory: a decoded struct costs ~400 B of heap however few bytes
  // it took on the wire (200,000 five-byte Items retain 76 MB). A Parley message is one to a
  // few structs, so the planned 100,000-message room is ~300,000; 1,000,000 leaves headroom and
  // caps a hostile room's heap near 400 MB. Also bounds what decoding one update may allocate.
  maxRoomStructs: 1_000_000,
  // Parley's presence is one encrypted envelope (name, typing) under 1 KB; other stock clients
  // put cursors and selections there. 64 KiB is generous for both and keeps presence, which is
  // not stored or counted against the room, from carrying bulk data.
  maxAwarenessBytes: 64 * 1024,
  // A stock client publishes its own client id only (echoes of others' states do not add
  // ids). A few more allow a client that replaced its Y.Doc on the same connection.
  maxAwarenessClientsPerConnection: 8,
  // Frames are budgeted only to stop a flood of frames that carry nothing (empty answers,
  // presence queries): what a person sends is budgeted below by updates and bytes. A stock
  // client sends per message its update, its answer to the relay's acknowledgement and now and
  // then presence: ~2.3 frames, so 40 messages a second are ~92 frames. 1,000 at once and 200
  // a second leave twice that, while a script sending empty frames is stopped within seconds.
  messageBurst: 1_000,
  messagesPerSecond: 200,
  // One update per local transaction: a script or a paste of many messages sends hundreds in a
  // moment (500 small messages are a few hundred KB), and a bot or a person in a hurry 40 a
  // second (issue 10 §5). Past 50 a second sustained the client is closed with 1013 and may
  // come back after its backoff; the answers to the relay's acknowledgements carry nothing and
  // cost no update.
  updateBurst: 500,
  updatesPerSecond: 50,
  // A connection's first frame may be a whole room (a client the relay knows nothing about
  // answers its step 1 with everything), and live traffic follows: two maximal frames at once.
  // Then 1 MiB a second: 40 messages a second of the largest record Parley writes (~13 KB) are
  // half of it, and a client pushing more than that for long is not chatting.
  byteBurst: 2 * (32 * 1024 * 1024 + 1024),
  bytesPerSecond: 1024 * 1024,
  // Integrating an insert visits every item between its origin and its right origin, so
  // crafted concurrent inserts cost O(n^2): 2,000 of them against a 100,000-item run took 68 s
  // (18 KB on the wire; measured, yjs 13.6.33, Node 20). A step costs 0.2-0.5 us, so 50,000
  // bound one update near 25 ms. Honest updates take almost none: a new key or an append after
  // what the sender saw visits nothing, and a replica back from offline pays once per run of
  // what others wrote meanwhile. A connection may spend two updates' worth at once and half of
  // one a second: past it, 1013; one update past its own bound, 4422.
  maxIntegrationStepsPerUpdate: 50_000,
  integrationStepBurst: 100_000,
  integrationStepsPerSecond: 25_000,
  // Answering a sync step 1 encodes the room's missing state: a full-room encode for a client
  // that asks with an empty state vector. A stock client asks once per connection (or every
  // `resyncInterval`), so 8 at once and one a second cost little and stop a CPU flood.
  syncRequestBurst: 8,
  syncRequestsPerSecond: 1,
  // Two full-room frames: a newcomer's initial sync plus the live traffic that follows it.
  // A client that lets more pile up is not reading and would grow the heap without bound.
  maxBufferedBytes: 2 * (32 * 1024 * 1024 + 1024),
  // As for signaling (the stock servers' value): a dead peer is found within 30–60 s.
  heartbeatIntervalMs: 30_000,
  // Stock y-websocket clients drop a connection that received nothing for 30 s (pings do not
  // count). A connection idle for a whole interval gets a 3-byte keepalive at the next sweep,
  // so the longest silence is under two intervals: 15 s, half the client's limit.
  keepaliveIntervalMs: 7_500,
  // A reload, a network blip or a phone waking up reconnects within seconds and finds the room
  // still in memory; after half a minute the memory is worth more than the warm cache.
  idleRoomUnloadMs: 30_000,
  // Below 64 KiB rewriting the snapshot costs more than reading the log back on load.
  compactionMinLogBytes: 64 * 1024,
})
