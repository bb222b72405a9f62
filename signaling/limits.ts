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
