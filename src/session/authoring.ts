// Builds the signed, encrypted records a person writes and writes them into the room: one
// place that knows which envelope purpose and which signing bytes go with each kind of record.
import {
  HybridClock,
  RoomDocument,
  parseMessage,
  parseMessagePayload,
  checkMessageText,
  editSigningBytes,
  encodeMemberPayload,
  encodeMessage,
  encodeMessagePayload,
  isV2Message,
  memberSigningBytes,
  messageSigningBytesV2,
  tombstoneSigningBytes,
  type EditRecord,
  type Hlc,
  type MessageRecordV2,
  type MemberRecord,
  type MessageRecord,
  type TombstoneRecord,
} from '../model'
import {
  bytesEqual,
  openEnvelope,
  sealEnvelope,
  sha256,
  sign,
  toBase64Url,
  type RoomKeys,
  type SigningIdentity,
} from '../crypto'

export class AuthoringError extends Error {}

function checkText(text: string): void {
  const problem = checkMessageText(text)
  if (problem) throw new AuthoringError(problem)
}

export function newMessageId(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(16)))
}

/** A v2 message (docs/document-model.md, "Record formats"): it carries the author's public key,
 * so it verifies without the members map. */
export async function composeMessage(
  keys: RoomKeys,
  author: SigningIdentity,
  id: string,
  stamp: Hlc,
  text: string,
  sentOffline: boolean,
): Promise<MessageRecordV2> {
  return composeRevision(keys, author, id, stamp, 0, stamp, text, sentOffline)
}

async function composeRevision(
  keys: RoomKeys,
  author: SigningIdentity,
  id: string,
  stamp: Hlc,
  revision: number,
  revised: Hlc,
  text: string,
  sentOffline: boolean,
): Promise<MessageRecordV2> {
  checkText(text)
  const payload = encodeMessagePayload({ text, sentOffline })
  const envelope = await sealEnvelope(keys.contentKey, 'message', id, payload)
  const { keyId, publicKey } = author
  const unsigned = { stamp, author: keyId, publicKey, revision, revised, envelope }
  const signature = await sign(author, messageSigningBytesV2(keys.roomId, id, unsigned))
  return { ...unsigned, signature }
}

/**
 * An edit is the message's next revision, written in its place (docs/document-model.md,
 * "Edits"): same id and stamp, so it sorts where it was, and the previous text is gone from
 * every replica once Yjs collects the replaced entry. A v1 message becomes a v2 one.
 */
export async function composeRevisionOf(
  keys: RoomKeys,
  author: SigningIdentity,
  id: string,
  original: MessageRecord,
  revised: Hlc,
  text: string,
): Promise<MessageRecordV2> {
  const revision = isV2Message(original) ? original.revision + 1 : 1
  let sentOffline = false
  try {
    const plain = await openEnvelope(keys.contentKey, 'message', id, original.envelope)
    sentOffline = parseMessagePayload(plain).sentOffline
  } catch {
    sentOffline = false
  }
  return composeRevision(keys, author, id, original.stamp, revision, revised, text, sentOffline)
}

/** A v1 edit record (kept for tests of rooms written before v2; new edits are revisions). */
export async function composeEdit(
  keys: RoomKeys,
  author: SigningIdentity,
  id: string,
  stamp: Hlc,
  text: string,
): Promise<EditRecord> {
  checkText(text)
  const payload = encodeMessagePayload({ text, sentOffline: false })
  const envelope = await sealEnvelope(keys.contentKey, 'edit', id, payload)
  const unsigned = { stamp, author: author.keyId, envelope }
  const signature = await sign(author, editSigningBytes(keys.roomId, id, unsigned))
  return { ...unsigned, signature }
}

/** The SHA-256 a v2 tombstone carries: of the message record's canonical encoding. */
export function messageHash(record: MessageRecord): Promise<Uint8Array> {
  return sha256(encodeMessage(record))
}

/** A v2 tombstone: it carries the deleted message's own stamp, so it sorts where the message
 * was, and the author's key and the deleted record's hash, signed, so it proves itself after
 * the record is gone (docs/document-model.md, "Deletes"). */
export async function composeTombstone(
  keys: RoomKeys,
  author: SigningIdentity,
  id: string,
  message: MessageRecord,
): Promise<TombstoneRecord> {
  const deleted = await messageHash(message)
  const { keyId, publicKey } = author
  const unsigned = { stamp: message.stamp, author: keyId, publicKey, deleted }
  const signature = await sign(author, tombstoneSigningBytes(keys.roomId, id, unsigned))
  return { ...unsigned, signature }
}

export async function composeMember(
  keys: RoomKeys,
  member: SigningIdentity,
  stamp: Hlc,
  name: string,
): Promise<MemberRecord> {
  const keyId = toBase64Url(member.keyId)
  const payload = encodeMemberPayload({ name })
  const envelope = await sealEnvelope(keys.contentKey, 'member', keyId, payload)
  const unsigned = { stamp, publicKey: member.publicKey, envelope }
  const signature = await sign(member, memberSigningBytes(keys.roomId, keyId, unsigned))
  return { ...unsigned, signature }
}

/** What one person writes into one room, stamped by the session's clock. Records are signed
 * asynchronously: one finished after close() is dropped, never written to a closed room. */
export class RoomWriter {
  private closed = false

  constructor(
    private readonly keys: RoomKeys,
    private readonly identity: SigningIdentity,
    private readonly room: RoomDocument,
    private readonly clock: HybridClock,
  ) {}

  async message(id: string, text: string, sentOffline: boolean): Promise<void> {
    const stamp = this.clock.next()
    const record = await composeMessage(this.keys, this.identity, id, stamp, text, sentOffline)
    if (!this.closed) this.room.insertMessage(id, record)
  }

  async edit(id: string, text: string): Promise<void> {
    const original = this.ownRecord(id)
    const { keys, identity } = this
    const record = await composeRevisionOf(keys, identity, id, original, this.clock.next(), text)
    if (!this.closed) this.room.rewriteMessage(id, record)
  }

  async remove(id: string): Promise<void> {
    const message = this.ownRecord(id)
    const tombstone = await composeTombstone(this.keys, this.identity, id, message)
    if (!this.closed) this.room.deleteMessage(id, tombstone)
  }

  /** Our member entry (public key + encrypted name). */
  async member(name: string): Promise<void> {
    const record = await composeMember(this.keys, this.identity, this.clock.next(), name)
    if (!this.closed) this.room.setMember(toBase64Url(this.identity.keyId), record)
  }

  close(): void {
    this.closed = true
  }

  private ownRecord(id: string) {
    const parsed = parseMessage(this.room.maps.messages.get(id))
    if (!parsed.ok) throw new AuthoringError('That message is not here any more.')
    if (!bytesEqual(parsed.value.author, this.identity.keyId))
      throw new AuthoringError('Only the author can change a message.')
    return parsed.value
  }
}
