// A loaded room's Y.Doc (gc on; docs/relay.md, "Structure"): loading it from the store, applying
// what clients and other instances send under origins that say where it came from, and the
// state vector after its latest change.

import * as Y from 'yjs'
import type { RoomMember } from './room-members'

/** Origin of updates read from the store on load: neither forwarded nor re-appended. */
const LOAD = Symbol('load')
/** Origin of the transaction that applies a turn's client updates. */
const CLIENTS = Symbol('clients')
/**
 * Origin of what another instance sent: updates it stored (shared stores). Forwarded, never
 * re-appended.
 */
const REMOTE = Symbol('remote')

/** A client update that passed every check, waiting for the end of the turn. */
export interface ReceivedUpdate {
  readonly update: Uint8Array
  readonly member: RoomMember
  /** What it counts in `RoomLedger.queuedBytes` until its turn is applied. */
  readonly queuedBytes: number
}

export interface AppliedClients {
  /** The transaction's update: only what was new (null when nothing changed). */
  update: Uint8Array | null
  /** The first update Yjs could not apply, and its sender; later ones were not tried. */
  failed: { member: RoomMember; error: unknown } | null
}

export class RoomDoc {
  readonly doc = new Y.Doc({ gc: true })
  /**
   * The doc's state vector after its latest change: the `afterState` Yjs computes for every
   * transaction anyway. Yjs makes a fresh Map per transaction and never changes it afterwards,
   * so holding one is a snapshot, and comparing references tells whether the doc changed since.
   */
  state: Map<number, number>
  /** The update event of the transaction applying a turn's client updates, caught for it. */
  private clientsUpdate: Uint8Array | null = null

  /**
   * `onOtherUpdate` hears every change that did not come from a client through
   * `applyClients` (updates of other instances, the load excepted).
   */
  constructor(
    stored: Uint8Array[],
    private readonly onOtherUpdate: (update: Uint8Array) => void,
  ) {
    // One transaction: one 'update' event (ignored: origin LOAD), one cleanup for the lot.
    this.doc.transact(() => {
      for (const update of stored) Y.applyUpdate(this.doc, update)
    }, LOAD)
    this.state = Y.decodeStateVector(Y.encodeStateVector(this.doc))
    this.doc.on('update', this.onUpdate)
  }

  /**
   * Applies a turn's client updates in one transaction, stopping at the first that fails (part
   * of which may be in the doc then).
   */
  applyClients(received: readonly ReceivedUpdate[]): AppliedClients {
    this.clientsUpdate = null
    const failed = this.doc.transact(() => {
      for (const { update, member } of received) {
        try {
          Y.applyUpdate(this.doc, update)
        } catch (error) {
          return { member, error }
        }
      }
      return null
    }, CLIENTS)
    const update = this.clientsUpdate
    this.clientsUpdate = null
    return { update, failed }
  }

  /** Updates other instances stored; throws when one does not apply. */
  applyRemote(updates: readonly Uint8Array[]): void {
    this.doc.transact(() => {
      for (const update of updates) Y.applyUpdate(this.doc, update)
    }, REMOTE)
  }

  /** What a client holding `stateVector` lacks. */
  encodeMissing(stateVector?: Uint8Array): Uint8Array {
    return Y.encodeStateAsUpdate(this.doc, stateVector)
  }

  /** The part of `update` this doc lacks (its deletions are kept whole). */
  missingFrom(update: Uint8Array): Uint8Array {
    return Y.diffUpdate(update, Y.encodeStateVector(this.doc))
  }

  /** Bytes Yjs holds back waiting for missing dependencies: not stored yet, still memory. */
  pendingBytes(): number {
    const store = this.doc.store
    return (store.pendingStructs?.update.byteLength ?? 0) + (store.pendingDs?.byteLength ?? 0)
  }

  /** Structs the doc holds; O(number of client ids). */
  countStructs(): number {
    let count = 0
    for (const structs of this.doc.store.clients.values()) count += structs.length
    return count
  }

  destroy(): void {
    this.doc.off('update', this.onUpdate)
    this.doc.destroy()
  }

  private readonly onUpdate = (
    update: Uint8Array,
    origin: unknown,
    _doc: Y.Doc,
    transaction: Y.Transaction,
  ): void => {
    this.state = transaction.afterState
    if (origin === LOAD) return
    if (origin === CLIENTS) {
      this.clientsUpdate = update
      return
    }
    // REMOTE, or anything else that did not come from a connection: never appended again.
    this.onOtherUpdate(update)
  }
}

export function sameState(a: Map<number, number>, b: Map<number, number>): boolean {
  if (a === b) return true
  if (a.size !== b.size) return false
  for (const [client, clock] of a) if (b.get(client) !== clock) return false
  return true
}
