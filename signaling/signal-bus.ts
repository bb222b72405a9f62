// How signaling topics reach other server instances. The hub hands every publish to the bus and
// subscribes the bus to a topic while the topic has local subscribers; the bus hands back what
// other instances published, never this instance's own messages (the hub delivered those
// already). Fire and forget, like signaling itself: a message lost while the bus is down is
// one y-webrtc resends.

export interface SignalBus {
  /** `text` is the frame exactly as local subscribers received it. */
  publish(topic: string, text: string): void
  /** The hub calls this when a topic gets its first local subscriber. */
  subscribe(topic: string): void
  /** …and this when its last local subscriber leaves. */
  unsubscribe(topic: string): void
  /** Sets the handler for messages other instances published to subscribed topics. */
  onMessage(handler: (topic: string, text: string) => void): void
  close(): Promise<void>
}

/** What a Redis bus reports; the server exposes it on `/metrics`. */
export interface BusMetrics {
  /** A message could not be published (Redis down). */
  dropped(): void
  /** One of its connections is back after it was lost (`role`: bus-pub, awareness-sub, …). */
  reconnected(role: string): void
}
