// How a loaded room's presence (y-protocols awareness) reaches the other server instances that
// have the room loaded. The room publishes what its own connections changed and applies what the
// bus hands back: only other instances' changes, never its own echo. Ephemeral, like signaling:
// a change lost while the bus is down is renewed by its client within 15 s, and a state nobody
// renews times out after 30 s on every instance (y-protocols' outdated check).

/** What the bus asks of a room it joined. */
export interface AwarenessChannelHandlers {
  /** An awareness update other instances' clients made: apply it, never publish it again. */
  onUpdate(update: Uint8Array): void
  /** The current states of this instance's own clients (null: none), for a newcomer instance. */
  localStates(): Uint8Array | null
}

/** One loaded room's handle on the bus, returned by `join`. */
export interface AwarenessChannel {
  /** An awareness update this instance's clients made. Fire and forget. */
  publish(update: Uint8Array): void
  /** The room unloaded: stop listening. Idempotent. */
  leave(): void
}

export interface AwarenessBus {
  /**
   * Listens to the room's presence while it is loaded here, and asks the other instances for
   * their clients' states once listening, so a newcomer sees who is there at once.
   */
  join(roomId: string, handlers: AwarenessChannelHandlers): AwarenessChannel
  close(): Promise<void>
}
