// One WebrtcLink at a time holds a y-webrtc room name in this JavaScript context
// (docs/webrtc.md, "Teardown and one provider per room"): y-webrtc throws when a second
// provider opens a room whose first provider is still being destroyed, and the second one
// then never connects. Holders of a name follow each other in the order they asked.

export interface RoomNameSlot {
  /** Resolves once every earlier holder of the name has released it. */
  readonly ready: Promise<void>
  /** Gives the name to the next holder; idempotent. Call it after the provider is gone, or
   * when giving up before `ready`. */
  release(): void
}

/** Per room name: resolves once its last holder so far has released it. */
const lastRelease = new Map<string, Promise<void>>()

export function takeRoomName(name: string): RoomNameSlot {
  const ready = lastRelease.get(name) ?? Promise.resolve()
  let release!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  const mine = ready.then(() => released)
  lastRelease.set(name, mine)
  // Forget the name once nobody holds or waits for it (rooms visited once must not pile up).
  void mine.then(() => {
    if (lastRelease.get(name) === mine) lastRelease.delete(name)
  })
  return { ready, release }
}

/** Names held or waited for right now: for leak tests. */
export function heldRoomNames(): number {
  return lastRelease.size
}
