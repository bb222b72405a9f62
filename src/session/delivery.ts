// Delivery state of our own messages, acknowledged for real: a message counts as delivered once
// some other tab or peer reports (in its encrypted presence) that it holds our Yjs updates up
// to the clock the message was written at. Pending messages survive a reload via storage.
import * as Y from 'yjs'
import { Listeners } from './events'
import type { RemotePresence } from './presence'

interface PendingWrite {
  readonly clientId: number
  readonly clock: number
}

export class DeliveryTracker {
  readonly changed = new Listeners()
  private readonly pending = new Map<string, PendingWrite>()
  private readonly storageKey: string

  /** Other tabs of this browser share the pending list through storage events. */
  private readonly onStorage = (event: StorageEvent): void => {
    if (event.key !== this.storageKey) return
    this.pending.clear()
    this.restore()
    this.changed.emit()
  }

  constructor(
    roomId: string,
    private readonly storage: Storage | undefined,
  ) {
    this.storageKey = `parley:pending:${roomId}`
    this.restore()
    if (storage && typeof window !== 'undefined') window.addEventListener('storage', this.onStorage)
  }

  /** Call right after our own write: the doc's clock for our client id is then past it. */
  track(messageId: string, doc: Y.Doc): void {
    this.pending.set(messageId, {
      clientId: doc.clientID,
      clock: Y.getState(doc.store, doc.clientID),
    })
    this.save()
    this.changed.emit()
  }

  isPending(messageId: string): boolean {
    return this.pending.has(messageId)
  }

  /** The writer client ids we wait on, for our presence state. */
  wants(): number[] {
    return [...new Set([...this.pending.values()].map((write) => write.clientId))]
  }

  /** Marks delivered whatever any remote presence has acknowledged. */
  acknowledge(presences: readonly RemotePresence[]): void {
    let changed = false
    for (const [id, write] of this.pending) {
      const acked = presences.some((p) => (p.seen?.[String(write.clientId)] ?? -1) >= write.clock)
      if (acked) {
        this.pending.delete(id)
        changed = true
      }
    }
    if (changed) {
      this.save()
      this.changed.emit()
    }
  }

  forget(messageId: string): void {
    if (this.pending.delete(messageId)) {
      this.save()
      this.changed.emit()
    }
  }

  clear(): void {
    this.pending.clear()
    this.storage?.removeItem(this.storageKey)
  }

  destroy(): void {
    if (typeof window !== 'undefined') window.removeEventListener('storage', this.onStorage)
    this.changed.clear()
  }

  private restore(): void {
    try {
      const raw: unknown = JSON.parse(this.storage?.getItem(this.storageKey) ?? '[]')
      if (!Array.isArray(raw)) return
      for (const item of raw) {
        const [id, clientId, clock] = Array.isArray(item) ? (item as unknown[]) : []
        if (typeof id === 'string' && Number.isSafeInteger(clientId) && Number.isSafeInteger(clock))
          this.pending.set(id, { clientId: clientId as number, clock: clock as number })
      }
    } catch {
      this.storage?.removeItem(this.storageKey) // corrupt: pending marks are a hint, not data
    }
  }

  private save(): void {
    const rows = [...this.pending].map(([id, write]) => [id, write.clientId, write.clock])
    try {
      if (rows.length === 0) this.storage?.removeItem(this.storageKey)
      else this.storage?.setItem(this.storageKey, JSON.stringify(rows))
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
