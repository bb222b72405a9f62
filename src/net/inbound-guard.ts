// What a browser lets into a room's Y.Doc from the network: every Yjs update a peer, another tab
// or the relay sends (sync step 2 and update messages) goes through the relay's own structural
// check (src/model/update-guard.ts) and this browser's size bounds before Yjs reads it. The links
// plug it into the providers' `filterSyncMessage` hook (patches/README.md; docs/document-model.md).
import { Listeners } from '../lib/listeners'
import { checkUpdate } from '../model/update-guard'

// y-protocols sync message types (PROTOCOL.md): step 1 carries a state vector, step 2 and update
// carry an update. Any other type makes y-protocols throw, so it is refused here.
const SYNC_STEP_1 = 0
const SYNC_UPDATE = 2

export interface InboundLimits {
  /** Largest update applied, in bytes. */
  readonly maxUpdateBytes: number
  /** Most structs plus delete ranges one update may hold (what decoding it materializes). */
  readonly maxUpdateEntries: number
}

export const BROWSER_INBOUND_LIMITS: InboundLimits = Object.freeze({
  // The relay stores at most 32 MiB per room (signaling/limits.ts maxRoomBytes, sized for
  // docs/architecture.md's ~100,000-message room at ~30 MB) and accepts frames up to that plus 1 KiB of
  // framing. A whole room arrives as one sync step 2, so this admits any room the relay keeps and
  // nothing larger: a bigger update could never have come from an honest replica of a room the
  // relay carries.
  maxUpdateBytes: 32 * 1024 * 1024 + 1024,
  // The relay's maxRoomStructs (1,000,000, signaling/limits.ts): a decoded struct costs ~400 B of
  // heap however few bytes it took (update-guard.ts), so this caps what one update can make a
  // tab hold near 400 MB, while the planned 100,000-message room (~300,000 structs) syncs whole.
  maxUpdateEntries: 1_000_000,
})

/** Why an update was refused: which bound, and the update's value against it. */
export interface Refusal {
  readonly limit: 'bytes' | 'entries' | 'structure' | 'message type'
  readonly detail: string
}

/** Checks one incoming update against the structural guard and `limits`; null: apply it. */
export function refuseUpdate(
  update: Uint8Array,
  limits: InboundLimits = BROWSER_INBOUND_LIMITS,
): Refusal | null {
  // Bytes first: the structural check walks the whole update.
  if (update.byteLength > limits.maxUpdateBytes) {
    return { limit: 'bytes', detail: `${update.byteLength} bytes > ${limits.maxUpdateBytes}` }
  }
  const check = checkUpdate(update)
  if (!check.ok) return { limit: 'structure', detail: check.reason }
  if (check.entries > limits.maxUpdateEntries) {
    return { limit: 'entries', detail: `${check.entries} entries > ${limits.maxUpdateEntries}` }
  }
  return null
}

/**
 * One link's guard: decides on each sync message, counts what it refused, and logs the first
 * refusal of each kind only (a hostile sender could otherwise flood the console; the count keeps
 * the rest visible).
 */
export class InboundGuard {
  /** Updates (and sync messages of unknown type) dropped before they reached Yjs. */
  refusedUpdates = 0
  /** Fires after each refusal, so the room can show the count (docs/document-model.md). */
  readonly refused = new Listeners()
  private readonly logged = new Set<Refusal['limit']>()

  constructor(
    /** Names the sender in the log line: "relay", "peer or tab". */
    private readonly source: string,
    private readonly limits: InboundLimits = BROWSER_INBOUND_LIMITS,
  ) {}

  /** The providers' `filterSyncMessage`: true lets the message through to y-protocols. */
  readonly filter = (syncMessageType: number, payload: Uint8Array): boolean => {
    if (syncMessageType === SYNC_STEP_1) return true
    const refusal: Refusal | null =
      syncMessageType > SYNC_UPDATE
        ? { limit: 'message type', detail: `unknown sync message type ${syncMessageType}` }
        : refuseUpdate(payload, this.limits)
    if (refusal === null) return true
    this.refuse(refusal)
    return false
  }

  /** Counts and logs (once per kind) a message refused by its caller: a type it does not know,
   * or one that broke the caller's own bounds (the relay's newest records, newest-first.ts). */
  refuse(refusal: Refusal): void {
    this.refusedUpdates++
    this.refused.emit()
    if (!this.logged.has(refusal.limit)) {
      this.logged.add(refusal.limit)
      console.warn(
        `Parley: dropped an update from the ${this.source} (limit: ${refusal.limit}, ${refusal.detail}); later refusals of this kind are only counted`,
      )
    }
  }
}
