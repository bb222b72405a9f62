// What this browser lets into a room's document from its own IndexedDB: every stored update is
// walked by the same structural guard as updates from the network (src/model/update-guard.ts)
// before Yjs reads it, so a damaged or tampered entry is skipped, counted and named instead of
// crashing the load or allocating without bound (docs/local-storage.md, "Loading").
import { checkUpdate } from '../model/update-guard'

/**
 * Why a stored update may not be applied, or null. Only the structural check: no bound on bytes
 * or entries (unlike BROWSER_INBOUND_LIMITS), because this browser's compaction writes the whole
 * room as one entry and a room held here may be larger than anything the relay carries (a room
 * carried by WebRTC alone). Refusing it would lose the room. The structural check already keeps
 * what decoding allocates proportional to the entry's own bytes (every counted entry takes at
 * least one byte), which is what a tampered entry could otherwise abuse.
 */
export function storedUpdateRefusal(update: unknown): string | null {
  if (!(update instanceof Uint8Array)) return 'not bytes'
  const check = checkUpdate(update)
  return check.ok ? null : check.reason
}

/** Counts what it refused and logs the first refusal only (the count keeps the rest visible). */
export class StoredUpdateGuard {
  refused = 0

  constructor(
    private readonly databaseName: string,
    /** Told about each refusal (LocalStore counts it as damaged and says so). */
    private readonly onRefused: () => void,
  ) {}

  /** y-indexeddb's `acceptUpdate` (patches/README.md): false skips the stored update. */
  readonly accept = (update: Uint8Array): boolean => {
    const reason = storedUpdateRefusal(update)
    if (reason === null) return true
    if (this.refused++ === 0) {
      console.warn(
        `Parley: skipped an update stored in this browser for room ${this.databaseName} (${reason}); later ones are only counted`,
      )
    }
    this.onRefused()
    return false
  }
}
