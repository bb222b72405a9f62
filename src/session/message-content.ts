// Opens what the timeline only indexes: decrypts envelopes and verifies signatures, on demand
// and cached per timeline entry (entries are immutable, so an entry object is its own cache
// key). A message that cannot be decrypted or verified is marked, never dropped, and never
// blocks the others.
import {
  editSigningBytes,
  encodeTombstone,
  isV2Message,
  messageSigningBytes,
  messageSigningBytesV2,
  parseMessagePayload,
  parseTombstone,
  tombstoneSigningBytes,
  type EditRecord,
  type MessageRecord,
  type MessageRecordV2,
} from '../model'
import { bytesEqual, keyIdOf, openEnvelope, toBase64Url, verify, type RoomKeys } from '../crypto'
import type { MemberDirectory } from './members'
import { HistoryLedger } from './history-ledger'
import type { TimelineEntry } from './timeline'

export type Authenticity =
  /** Signed by the author key id it claims. */
  | 'verified'
  /** The author's member entry has not arrived (yet): cannot be checked. */
  | 'unverified'
  /** The signature does not match: someone else wrote it in the author's name. */
  | 'forged'

export type ResolvedEntry =
  | {
      readonly kind: 'message'
      /** null when the envelope does not open with this room's key. */
      readonly text: string | null
      readonly edited: boolean
      readonly sentOffline: boolean
      readonly authenticity: Authenticity
      /** A v1 record (written before records carried their key): checked, if at all, through
       * its author's member entry or a key pinned here (docs/document-model.md). */
      readonly legacy: boolean
    }
  | { readonly kind: 'deleted' }
  | { readonly kind: 'anomaly'; readonly reason: string }

/** What a row says when its entry cannot be shown as a message. */
export const CANNOT_SHOW = 'This message could not be shown.'

interface CacheSlot {
  readonly generation: number
  readonly result: Promise<ResolvedEntry>
}

export class MessageContentResolver {
  private readonly cache = new WeakMap<TimelineEntry, CacheSlot>()
  private readonly settled = new WeakMap<TimelineEntry, ResolvedEntry>()
  /** Bumped when the member directory changes, so 'unverified' results get another look. */
  private generation = 0

  constructor(
    private readonly keys: RoomKeys,
    private readonly members: MemberDirectory,
    /** This browser's knowledge of the room's history; in memory only when not given. */
    readonly ledger: HistoryLedger = new HistoryLedger(keys.roomId, undefined),
  ) {}

  membersChanged(): void {
    this.generation++
  }

  /** The resolved content if it is already known (for synchronous rendering). */
  peek(entry: TimelineEntry): ResolvedEntry | undefined {
    return this.settled.get(entry)
  }

  resolve(entry: TimelineEntry): Promise<ResolvedEntry> {
    const slot = this.cache.get(entry)
    const stale = slot && slot.generation !== this.generation && this.mayImprove(entry)
    if (slot && !stale) return slot.result
    // Total: whatever a record holds, a row gets an answer (docs/document-model.md).
    const result = this.compute(entry)
      .catch((): ResolvedEntry => ({ kind: 'anomaly', reason: CANNOT_SHOW }))
      .then((resolved) => {
        this.settled.set(entry, resolved)
        return resolved
      })
    this.cache.set(entry, { generation: this.generation, result })
    return result
  }

  private mayImprove(entry: TimelineEntry): boolean {
    const known = this.settled.get(entry)
    return !known || (known.kind === 'message' && known.authenticity === 'unverified')
  }

  private async compute(entry: TimelineEntry): Promise<ResolvedEntry> {
    if (entry.anomaly) return { kind: 'anomaly', reason: `${CANNOT_SHOW} ${entry.anomaly}` }
    if (entry.state === 'vanished') return anomaly(HistoryAnomaly.vanished)
    // Read once: the timeline decodes records from the document on each access.
    const record = entry.record
    const stone = entry.tombstone
    if (stone) {
      if (await this.tombstoneIsValid(entry, record)) {
        this.ledger.noteDeleted(entry.id, encodeTombstone(stone))
        return { kind: 'deleted' }
      }
      if (!record) return anomaly(HistoryAnomaly.removedByOther)
    }
    if (!record) return { kind: 'anomaly', reason: 'Missing message.' }
    if (this.ledger.deletedProof(entry.id)) return anomaly(HistoryAnomaly.resurrected)
    if (isV2Message(record)) return this.showRevision(entry, record)
    return this.showLegacy(entry, record)
  }

  /** A v2 message verifies alone (docs/document-model.md, "Record formats"), then is held to
   * what this browser already knows of it (the ledger): same author, no older revision. */
  private async showRevision(entry: TimelineEntry, record: MessageRecordV2) {
    const keyId = keyIdText(record.author)
    if (!bytesEqual(await keyIdOf(record.publicKey), record.author))
      return anomaly(HistoryAnomaly.keyMismatch)
    if (!this.ledger.pin(keyId, record.publicKey)) return anomaly(HistoryAnomaly.keyMismatch)
    const signed = messageSigningBytesV2(this.keys.roomId, entry.id, record)
    const valid = await verify(record.publicKey, record.signature, signed)
    const known = this.ledger.seen(entry.id)
    // A message seen here, now under a record that does not verify: someone wrote over it.
    if (!valid && known) return anomaly(HistoryAnomaly.replaced)
    if (valid) {
      if (known && known.author !== keyId) return anomaly(HistoryAnomaly.replaced)
      if (known && known.revision > record.revision) return anomaly(HistoryAnomaly.rolledBack)
      this.ledger.noteSeen(entry.id, entry.key, record.revision)
    }
    const authenticity: Authenticity = valid ? 'verified' : 'forged'
    const edited = record.revision > 0
    return this.opened(entry.id, 'message', record.envelope, edited, authenticity, false)
  }

  /** A v1 message: checked with its author's member entry, or the key pinned here when that
   * entry has gone; one that cannot be checked is marked as of the older format. */
  private async showLegacy(entry: TimelineEntry, record: MessageRecord) {
    const authenticity = await this.checkMessage(entry.id, record)
    if (authenticity === 'verified') {
      const known = this.ledger.seen(entry.id)
      if (known && known.author !== keyIdText(record.author))
        return anomaly(HistoryAnomaly.replaced)
      if (known && known.revision > 0) return anomaly(HistoryAnomaly.rolledBack)
      this.ledger.noteSeen(entry.id, entry.key, 0)
    }
    const latestEdit = entry.edit
    const edit =
      latestEdit && (await this.editIsValid(entry.id, record, latestEdit)) ? latestEdit : undefined
    const shown = edit ?? record
    const purpose = edit ? 'edit' : 'message'
    const resolved = await this.opened(
      entry.id,
      purpose,
      shown.envelope,
      !!edit,
      authenticity,
      true,
    )
    if (edit && resolved.kind === 'message')
      return { ...resolved, sentOffline: await this.originalSentOffline(entry.id, record) }
    return resolved
  }

  private async opened(
    id: string,
    purpose: 'message' | 'edit',
    envelope: Uint8Array,
    edited: boolean,
    authenticity: Authenticity,
    legacy: boolean,
  ): Promise<ResolvedEntry> {
    try {
      const plain = await openEnvelope(this.keys.contentKey, purpose, id, envelope)
      const payload = parseMessagePayload(plain)
      const { text, sentOffline } = payload
      return { kind: 'message', text, edited, sentOffline, authenticity, legacy }
    } catch {
      return { kind: 'message', text: null, edited, sentOffline: false, authenticity, legacy }
    }
  }

  private async originalSentOffline(id: string, record: MessageRecord): Promise<boolean> {
    try {
      const plain = await openEnvelope(this.keys.contentKey, 'message', id, record.envelope)
      return parseMessagePayload(plain).sentOffline
    } catch {
      return false
    }
  }

  /** A v1 author's key: from their member entry (pinned on first use), else the pinned one. */
  private async keyOf(author: Uint8Array): Promise<Uint8Array | undefined> {
    const keyId = keyIdText(author)
    const fromMember = await this.members.publicKeyOf(keyId)
    if (fromMember && this.ledger.pin(keyId, fromMember)) return fromMember
    return this.ledger.pinned(keyId)
  }

  private async checkMessage(id: string, record: MessageRecord): Promise<Authenticity> {
    const publicKey = await this.keyOf(record.author)
    if (!publicKey) return 'unverified'
    const signed = messageSigningBytes(this.keys.roomId, id, record)
    return (await verify(publicKey, record.signature, signed)) ? 'verified' : 'forged'
  }

  /** Only the message's author may edit it (docs/architecture.md). */
  private async editIsValid(id: string, record: MessageRecord, edit: EditRecord): Promise<boolean> {
    if (!bytesEqual(edit.author, record.author)) return false
    const publicKey = await this.keyOf(edit.author)
    if (!publicKey) return false
    return verify(publicKey, edit.signature, editSigningBytes(this.keys.roomId, id, edit))
  }

  /**
   * Only the message's author may delete it. A v2 tombstone proves itself (its key hashes to
   * its key id and signed it, with the deleted record's hash); it must also match what this
   * browser knows of the message: its record if at hand (author, stamp), else the author it
   * was seen with (docs/document-model.md, "Deletes").
   */
  private async tombstoneIsValid(
    entry: TimelineEntry,
    record: MessageRecord | undefined,
  ): Promise<boolean> {
    const stone = entry.tombstone
    if (!stone) return false
    const seen = this.ledger.seen(entry.id)
    if (seen && seen.author !== keyIdText(stone.author)) return false
    const proof = this.ledger.deletedProof(entry.id)
    const proven = proof && parseTombstone(proof)
    if (proven && proven.ok && !bytesEqual(proven.value.author, stone.author)) return false
    // What the ledger knows was verified; a record at hand may be anyone's (a takeover put in
    // the author's entry), so it is the reference only where the ledger knows nothing.
    const message = seen || proven ? undefined : (record ?? entry.removedRecord)
    if (message) {
      if (!bytesEqual(stone.author, message.author)) return false
      const same =
        stone.stamp.wall === message.stamp.wall && stone.stamp.counter === message.stamp.counter
      if (!same) return false
      // The hash names the revision deleted; another revision of the same author's message at
      // hand (a replayed older one) does not undo the author's delete.
    }
    const signed = tombstoneSigningBytes(this.keys.roomId, entry.id, stone)
    if (stone.publicKey) {
      if (!bytesEqual(await keyIdOf(stone.publicKey), stone.author)) return false
      if (!this.ledger.pin(keyIdText(stone.author), stone.publicKey)) return false
      return verify(stone.publicKey, stone.signature, signed)
    }
    const publicKey = await this.keyOf(stone.author)
    if (!publicKey) return false
    return verify(publicKey, stone.signature, signed)
  }
}

/** What a row says when history was changed against the rules (docs/threat-model.md). */
export const HistoryAnomaly = {
  vanished: 'This message was removed without a valid delete.',
  removedByOther: 'This message was removed by someone other than its author.',
  resurrected: 'This message came back after its author deleted it.',
  rolledBack: 'An older version of this message replaced a newer edit.',
  replaced: 'This message was replaced by someone other than its author.',
  keyMismatch: "This message claims an author key id that is not its key's.",
} as const

function anomaly(reason: string): ResolvedEntry {
  return { kind: 'anomaly', reason }
}

const keyIdText = (keyId: Uint8Array): string => toBase64Url(keyId)
