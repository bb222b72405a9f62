// A loaded room's Y.Doc (gc on; docs/relay.md, "Structure" and "A bad update"): loading it from
// the store, applying what clients and other instances send under origins that say where it came
// from, the state vector after its latest change, and the room's whole state pre-encoded for
// newcomers, and its newest records (newest-index.ts) for newcomers that ask for them first.
// It also keeps that state exactly as encoded bytes (a base and the updates since), so an
// update Yjs fails on half-way costs a rebuild from them, never the room.

import * as Y from 'yjs'
import { NEWEST_RECORDS_MAX_BYTES, RoomDocument, encodeNewestRecords } from '../../src/model'
import { TokenBucket } from '../token-bucket'
import type { WorkAllowance } from './connection-budget'
import { NewestIndex } from './newest-index'
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

// The updates since the base are folded into a fresh base once they outgrow it (and 1 MiB):
// each byte of the room is then re-encoded a bounded number of times, and the bytes kept for
// a rebuild stay under about twice the room's encoded size.
const TAIL_FOLD_MIN_BYTES = 1024 * 1024
// A rebuild decodes the whole room again (~0.2 s for 100k messages, measured): three at once
// and one a minute after that. Only a hostile client makes Yjs fail (the update guard refuses
// every failure we know of), and past this the room is reset instead, as it always was.
const REBUILD_BURST = 3
const REBUILDS_PER_SECOND = 1 / 60

/** A client update that passed every check, waiting for the end of the turn. */
export interface ReceivedUpdate {
  readonly update: Uint8Array
  readonly member: RoomMember
  /** What it counts in `RoomLedger.queuedBytes` until its turn is applied. */
  readonly queuedBytes: number
}

/** Why a client's update was not (wholly) applied. */
export type ApplyFailure =
  /** Yjs threw on it: nothing of it is in the doc (rebuilt without it). */
  | { kind: 'malformed'; member: RoomMember; error: unknown }
  /** It ran out of integration work: what integrated before stays (valid Yjs state). */
  | { kind: 'too-costly'; member: RoomMember; steps: number; perUpdate: boolean }

export interface AppliedClients {
  /** The transaction's update: only what was new (null when nothing changed). */
  update: Uint8Array | null
  failures: ApplyFailure[]
  /** Yjs failed and the doc could not be rebuilt (rebuild budget spent): reset the room. */
  unrecoverable: boolean
}

export class RoomDoc {
  private current = new Y.Doc({ gc: true })
  /**
   * The doc's state vector after its latest change: the `afterState` Yjs computes for every
   * transaction anyway. Yjs makes a fresh Map per transaction and never changes it afterwards,
   * so holding one is a snapshot, and comparing references tells whether the doc changed since.
   */
  state: Map<number, number>
  /** The update event of the transaction applying a turn's client updates, caught for it. */
  private clientsUpdate: Uint8Array | null = null
  /** The doc's state exactly: `base` then `tail` applied in order. */
  private base: Uint8Array[]
  private baseBytes: number
  private tail: Uint8Array[] = []
  private tailBytes = 0
  /** The whole state encoded, and the state vector it was encoded at. */
  private full: { bytes: Uint8Array; at: Map<number, number> } | null = null
  private readonly rebuilds = new TokenBucket(REBUILD_BURST, REBUILDS_PER_SECOND)
  /** Which messages are the newest, followed as the doc changes. */
  private newestIndex: NewestIndex
  /** The newest records encoded, and the state vector they were encoded at. */
  private newest: { bytes: Uint8Array | null; at: Map<number, number> } | null = null

  /**
   * `onOtherUpdate` hears every change that did not come from a client through
   * `applyClients` (updates of other instances, the load excepted).
   */
  constructor(
    stored: Uint8Array[],
    private readonly onOtherUpdate: (update: Uint8Array) => void,
  ) {
    this.base = stored
    this.baseBytes = sumBytes(stored)
    this.load(this.current, stored)
    this.state = Y.decodeStateVector(Y.encodeStateVector(this.current))
    // A room stored as one snapshot is served as stored: no encode until it changes.
    if (stored.length === 1) this.full = { bytes: stored[0], at: this.state }
    this.newestIndex = new NewestIndex(new RoomDocument(this.current))
    this.current.on('update', this.onUpdate)
  }

  /**
   * Applies a turn's client updates in one transaction, each within its work allowance. An
   * update Yjs throws on is dropped whole: the doc is rebuilt from its exact state and the
   * others applied again.
   */
  applyClients(
    received: readonly ReceivedUpdate[],
    allowance: (member: RoomMember) => WorkAllowance,
  ): AppliedClients {
    const failures: ApplyFailure[] = []
    let pending = received
    for (;;) {
      const { update, malformed } = this.tryClients(pending, allowance, failures)
      if (!malformed) {
        if (update) this.record(update)
        return { update, failures, unrecoverable: false }
      }
      failures.push(malformed)
      // Part of it may be in the doc: start again from the state before this transaction.
      if (!this.rebuilds.take()) return { update: null, failures, unrecoverable: true }
      this.rebuild()
      // Whoever failed is closed: none of its updates of this turn go in.
      pending = pending.filter((r) => !failures.some((f) => f.member === r.member))
    }
  }

  /** Updates other instances stored; throws when one does not apply. */
  applyRemote(updates: readonly Uint8Array[]): void {
    this.current.transact(() => {
      for (const update of updates) Y.applyUpdate(this.current, update)
    }, REMOTE)
  }

  /** The room's whole state, encoded once per change (the stored snapshot, if unchanged). */
  fullState(): Uint8Array {
    if (this.full?.at !== this.state) {
      this.full = { bytes: Y.encodeStateAsUpdate(this.current), at: this.state }
      // The same bytes are the exact state from now on.
      this.base = [this.full.bytes]
      this.baseBytes = this.full.bytes.byteLength
      this.tail = []
      this.tailBytes = 0
    }
    return this.full.bytes
  }

  /** The newest messages' records as a small update (model/newest-records.ts), encoded once
   * per change of the room; null when the room holds no message to show. */
  newestRecords(): Uint8Array | null {
    if (this.newest?.at === this.state) return this.newest.bytes
    const messages = this.newestIndex.messages()
    const room = new RoomDocument(this.current)
    const bytes =
      messages.length === 0 ? null : encodeNewestRecords(room, messages, NEWEST_RECORDS_MAX_BYTES)
    this.newest = { bytes, at: this.state }
    return bytes
  }

  /** What a client holding `stateVector` lacks. */
  encodeMissing(stateVector: Uint8Array): Uint8Array {
    return Y.encodeStateAsUpdate(this.current, stateVector)
  }

  /** The part of `update` this doc lacks (its deletions are kept whole). */
  missingFrom(update: Uint8Array): Uint8Array {
    return Y.diffUpdate(update, Y.encodeStateVector(this.current))
  }

  /** Bytes Yjs holds back waiting for missing dependencies: not stored yet, still memory. */
  pendingBytes(): number {
    const store = this.current.store
    return (store.pendingStructs?.update.byteLength ?? 0) + (store.pendingDs?.byteLength ?? 0)
  }

  /** Structs the doc holds; O(number of client ids). */
  countStructs(): number {
    let count = 0
    for (const structs of this.current.store.clients.values()) count += structs.length
    return count
  }

  destroy(): void {
    this.newestIndex.destroy()
    this.current.off('update', this.onUpdate)
    this.current.destroy()
  }

  private tryClients(
    received: readonly ReceivedUpdate[],
    allowance: (member: RoomMember) => WorkAllowance,
    failures: ApplyFailure[],
  ): { update: Uint8Array | null; malformed: Extract<ApplyFailure, { kind: 'malformed' }> | null } {
    this.clientsUpdate = null
    const malformed = this.current.transact(() => {
      for (const { update, member } of received) {
        if (failures.some((f) => f.member === member)) continue
        const work = allowance(member)
        Y.integrationBudget.steps = work.steps
        try {
          Y.applyUpdate(this.current, update)
        } catch (error) {
          if (error instanceof Y.IntegrationBudgetError) {
            failures.push({
              kind: 'too-costly',
              member,
              steps: work.steps,
              perUpdate: work.steps >= work.perUpdate,
            })
            continue
          }
          return { kind: 'malformed' as const, member, error }
        } finally {
          work.spend(work.steps - Math.max(0, Y.integrationBudget.steps))
          Y.integrationBudget.steps = Infinity
        }
      }
      return null
    }, CLIENTS)
    const update = this.clientsUpdate
    this.clientsUpdate = null
    return { update, malformed }
  }

  /** Replaces the doc with one loaded from the exact state, keeping what waited for dependencies. */
  private rebuild(): void {
    const old = this.current
    old.off('update', this.onUpdate)
    const waiting = [old.store.pendingStructs?.update, old.store.pendingDs].filter(
      (update): update is Uint8Array => update !== undefined && update !== null,
    )
    let doc = new Y.Doc({ gc: true })
    this.load(doc, [...this.base, ...this.tail])
    try {
      this.load(doc, waiting)
    } catch {
      // What waited may be what broke: it was never stored or acknowledged, so it goes.
      doc.destroy()
      doc = new Y.Doc({ gc: true })
      this.load(doc, [...this.base, ...this.tail])
    }
    this.newestIndex.destroy()
    old.destroy()
    this.current = doc
    this.state = Y.decodeStateVector(Y.encodeStateVector(doc))
    this.full = null
    this.newest = null
    this.newestIndex = new NewestIndex(new RoomDocument(doc))
    doc.on('update', this.onUpdate)
  }

  private load(doc: Y.Doc, updates: readonly Uint8Array[]): void {
    // One transaction: one 'update' event (ignored: origin LOAD), one cleanup for the lot.
    doc.transact(() => {
      for (const update of updates) Y.applyUpdate(doc, update)
    }, LOAD)
  }

  /** Keeps a change in the exact state. */
  private record(update: Uint8Array): void {
    this.tail.push(update)
    this.tailBytes += update.byteLength
    if (this.tailBytes > Math.max(this.baseBytes, TAIL_FOLD_MIN_BYTES)) this.fullState()
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
      // Recorded by applyClients once it knows nothing in the transaction failed.
      this.clientsUpdate = update
      return
    }
    // REMOTE, or anything else that did not come from a connection: never appended again.
    this.record(update)
    this.onOtherUpdate(update)
  }
}

function sumBytes(updates: readonly Uint8Array[]): number {
  return updates.reduce((total, update) => total + update.byteLength, 0)
}

export function sameState(a: Map<number, number>, b: Map<number, number>): boolean {
  if (a === b) return true
  if (a.size !== b.size) return false
  for (const [client, clock] of a) if (b.get(client) !== clock) return false
  return true
}
