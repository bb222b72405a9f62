// Delivery state of our own writes, acknowledged for real: a message counts as delivered once
// another person's browser reports (in its encrypted presence) that it holds our Yjs updates
// up to that message's clock, and as saved to the relay once the relay's state vector, sent
// only for what it has durably stored, covers it. We keep, per Yjs client id this browser
// wrote with, the clock written, acknowledged and stored — O(1) per message sent and a few
// bytes of storage, which survives reloads and is shared with other tabs through storage events.
import * as Y from 'yjs'
import { Listeners } from '../lib/listeners'
import type { RemotePresence } from './presence'

interface WriterClock {
  /** Yjs clock after our latest write with this client id. */
  written: number
  /** Highest clock another person's browser has acknowledged holding. */
  acked: number
  /** Highest clock the relay has reported storing durably. */
  stored: number
}

/** Where one of our writes has got to. `unsaved`: while this browser cannot store the room
 * (docs/local-storage.md, "When storage fails"), a write nobody else holds and not stored here. */
export type DeliveryState = 'unsaved' | 'pending' | 'saved-to-relay' | 'delivered'

/** What this browser's storage of the room has committed of our writes (LocalStore). */
export interface LocalWrites {
  /** Writes are failing right now (e.g. the quota is full). */
  readonly failing: boolean
  /** Our writes under `client` below this clock are stored here. */
  storedClock(client: number): number
}

/** Whether a message's current record was written by Yjs client `client` below `clock`
 * (model/room-document.ts, `wroteBefore`). */
export type WroteBefore = (client: number, clock: number) => boolean

/** A clock above any a writer reaches: "written by this client at all". */
const ANY_CLOCK = Number.MAX_SAFE_INTEGER

/** Long enough to coalesce a burst of sends; short enough that a reload rarely loses a mark. */
const SAVE_DELAY_MS = 250
/** Writers fully acknowledged are dropped beyond this many, oldest first. */
const MAX_WRITERS = 64

export class DeliveryTracker {
  readonly changed = new Listeners()
  private readonly writers = new Map<number, WriterClock>()
  private readonly storageKey: string
  private saveTimer: ReturnType<typeof setTimeout> | undefined
  private local: LocalWrites | null = null
  private localFailing = false
  private readonly onStorage = (event: StorageEvent): void => {
    if (event.key !== this.storageKey) return
    this.restore()
    this.changed.emit()
  }

  constructor(
    roomId: string,
    private readonly storage: Storage | undefined,
  ) {
    this.storageKey = `parley:delivery:${roomId}`
    this.restore()
    if (storage && typeof window !== 'undefined') window.addEventListener('storage', this.onStorage)
  }

  /** Call right after our own write: the doc's clock for our client id is then past it. */
  track(doc: Y.Doc): void {
    const writer = this.writers.get(doc.clientID) ?? { written: 0, acked: 0, stored: 0 }
    writer.written = Y.getState(doc.store, doc.clientID)
    this.writers.set(doc.clientID, writer)
    this.scheduleSave()
    this.changed.emit()
  }

  /** Where a message has got to, given who wrote its record; undefined if not one of ours. */
  stateOf(wroteBefore: WroteBefore): DeliveryState | undefined {
    for (const [client, writer] of this.writers) {
      if (!wroteBefore(client, ANY_CLOCK)) continue
      if (wroteBefore(client, writer.acked)) return 'delivered'
      if (wroteBefore(client, writer.stored)) return 'saved-to-relay'
      const local = this.local
      // Only while storage fails: otherwise every write would flash "unsaved" for the few
      // milliseconds before its transaction commits.
      if (this.localFailing && local && !wroteBefore(client, local.storedClock(client)))
        return 'unsaved'
      return 'pending'
    }
    return undefined
  }

  /** This browser's storage committed more, failed or recovered (LocalStore). */
  localWritesChanged(local: LocalWrites): void {
    const wasFailing = this.localFailing
    this.local = local
    this.localFailing = local.failing
    if (wasFailing || this.localFailing) this.changed.emit()
  }

  /** The writer client ids we wait on, for our presence state. */
  wants(): number[] {
    return [...this.writers].filter(([, w]) => w.acked < w.written).map(([client]) => client)
  }

  /** Takes in what other people's browsers report holding of our writes. */
  acknowledge(presences: readonly RemotePresence[]): void {
    let changed = false
    for (const [client, writer] of this.writers) {
      for (const presence of presences) {
        const seen = presence.seen?.[String(client)] ?? 0
        if (seen > writer.acked) {
          writer.acked = Math.min(seen, writer.written)
          changed = true
        }
      }
    }
    if (changed) {
      this.scheduleSave()
      this.changed.emit()
    }
  }

  /** Takes in the clocks the relay reports holding durably (its state vector). */
  relayStored(clocks: ReadonlyMap<number, number>): void {
    let changed = false
    for (const [client, writer] of this.writers) {
      const stored = Math.min(clocks.get(client) ?? 0, writer.written)
      if (stored > writer.stored) {
        writer.stored = stored
        changed = true
      }
    }
    if (changed) {
      this.scheduleSave()
      this.changed.emit()
    }
  }

  clear(): void {
    clearTimeout(this.saveTimer)
    this.saveTimer = undefined
    this.writers.clear()
    this.storage?.removeItem(this.storageKey)
  }

  destroy(): void {
    if (this.saveTimer !== undefined) {
      clearTimeout(this.saveTimer)
      this.save()
    }
    if (typeof window !== 'undefined') window.removeEventListener('storage', this.onStorage)
    this.changed.clear()
  }

  private restore(): void {
    this.writers.clear()
    try {
      const raw: unknown = JSON.parse(this.storage?.getItem(this.storageKey) ?? '[]')
      if (!Array.isArray(raw)) return
      for (const row of raw) {
        // Rows written before the relay existed have no stored clock: nothing stored yet.
        const [client, written, acked, stored = 0] = Array.isArray(row) ? (row as unknown[]) : []
        if ([client, written, acked, stored].every((n) => Number.isSafeInteger(n)))
          this.writers.set(client as number, {
            written: written as number,
            acked: acked as number,
            stored: stored as number,
          })
      }
    } catch {
      this.storage?.removeItem(this.storageKey) // corrupt: delivery marks are a hint, not data
    }
  }

  private scheduleSave(): void {
    this.saveTimer ??= setTimeout(() => {
      this.saveTimer = undefined
      this.save()
    }, SAVE_DELAY_MS)
  }

  private save(): void {
    let rows = [...this.writers].map(([client, w]) => [client, w.written, w.acked, w.stored])
    const done = rows.filter(([, written, acked]) => acked >= written)
    if (done.length > MAX_WRITERS) {
      const drop = new Set(done.slice(0, done.length - MAX_WRITERS).map(([client]) => client))
      rows = rows.filter(([client]) => !drop.has(client))
      for (const client of drop) this.writers.delete(client)
    }
    try {
      this.storage?.setItem(this.storageKey, JSON.stringify(rows))
    } catch {
      // Storage full or unavailable: delivery marks then last for this session only.
    }
  }
}

/** What we hold of the client ids others wait on: our part of their acknowledgement. */
export function seenClocks(
  doc: Y.Doc,
  presences: readonly RemotePresence[],
): Record<string, number> {
  const seen: Record<string, number> = {}
  for (const presence of presences)
    for (const clientId of presence.want ?? [])
      seen[String(clientId)] = Y.getState(doc.store, clientId)
  return seen
}
