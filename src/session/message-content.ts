// Opens what the timeline only indexes: decrypts envelopes and verifies signatures, on demand
// and cached per timeline entry (entries are immutable, so an entry object is its own cache
// key). A message that cannot be decrypted or verified is marked, never dropped, and never
// blocks the others.
import {
  editSigningBytes,
  messageSigningBytes,
  parseMessagePayload,
  tombstoneSigningBytes,
  type EditRecord,
  type MessageRecord,
} from '../model'
import { bytesEqual, openEnvelope, toBase64Url, verify, type RoomKeys } from '../crypto'
import type { MemberDirectory } from './members'
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
    if (entry.state === 'vanished')
      return { kind: 'anomaly', reason: 'This message was removed without a valid delete.' }
    // Read once: the timeline decodes records from the document on each access.
    const record = entry.record
    if (entry.tombstone) {
      if (await this.tombstoneIsValid(entry, record)) return { kind: 'deleted' }
      if (!record)
        return {
          kind: 'anomaly',
          reason: 'This message was removed by someone other than its author.',
        }
    }
    if (!record) return { kind: 'anomaly', reason: 'Missing message.' }
    const authenticity = await this.checkMessage(entry.id, record)
    const latestEdit = entry.edit
    const edit =
      latestEdit && (await this.editIsValid(entry.id, record, latestEdit)) ? latestEdit : undefined
    const shown = edit ?? record
    try {
      const plain = await openEnvelope(
        this.keys.contentKey,
        edit ? 'edit' : 'message',
        entry.id,
        shown.envelope,
      )
      const payload = parseMessagePayload(plain)
      let sentOffline = payload.sentOffline
      if (edit) sentOffline = await this.originalSentOffline(entry.id, record)
      return { kind: 'message', text: payload.text, edited: !!edit, sentOffline, authenticity }
    } catch {
      return { kind: 'message', text: null, edited: !!edit, sentOffline: false, authenticity }
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

  private async checkMessage(id: string, record: MessageRecord): Promise<Authenticity> {
    const publicKey = await this.members.publicKeyOf(keyIdText(record.author))
    if (!publicKey) return 'unverified'
    const signed = messageSigningBytes(this.keys.roomId, id, record)
    return (await verify(publicKey, record.signature, signed)) ? 'verified' : 'forged'
  }

  /** Only the message's author may edit it (docs/architecture.md). */
  private async editIsValid(id: string, record: MessageRecord, edit: EditRecord): Promise<boolean> {
    if (!bytesEqual(edit.author, record.author)) return false
    const publicKey = await this.members.publicKeyOf(keyIdText(edit.author))
    if (!publicKey) return false
    return verify(publicKey, edit.signature, editSigningBytes(this.keys.roomId, id, edit))
  }

  /** Only the message's author may delete it; the tombstone must carry the message's stamp. */
  private async tombstoneIsValid(
    entry: TimelineEntry,
    record: MessageRecord | undefined,
  ): Promise<boolean> {
    const stone = entry.tombstone
    if (!stone) return false
    const message = record ?? entry.removedRecord
    if (message) {
      if (!bytesEqual(stone.author, message.author)) return false
      const same =
        stone.stamp.wall === message.stamp.wall && stone.stamp.counter === message.stamp.counter
      if (!same) return false
    }
    const publicKey = await this.members.publicKeyOf(keyIdText(stone.author))
    if (!publicKey) return false
    return verify(
      publicKey,
      stone.signature,
      tombstoneSigningBytes(this.keys.roomId, entry.id, stone),
    )
  }
}

const keyIdText = (keyId: Uint8Array): string => toBase64Url(keyId)
