// Builds the signed, encrypted records a person writes and writes them into the room: one
// place that knows which envelope purpose and which signing bytes go with each kind of record.
import {
  HybridClock,
  RoomDocument,
  parseMessage,
  checkMessageText,
  editSigningBytes,
  encodeMemberPayload,
  encodeMessagePayload,
  memberSigningBytes,
  messageSigningBytes,
  tombstoneSigningBytes,
  type EditRecord,
  type Hlc,
  type MemberRecord,
  type MessageRecord,
  type TombstoneRecord,
} from '../model'
import {
  bytesEqual,
  sealEnvelope,
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

export async function composeMessage(
  keys: RoomKeys,
  author: SigningIdentity,
  id: string,
  stamp: Hlc,
  text: string,
  sentOffline: boolean,
): Promise<MessageRecord> {
  checkText(text)
  const payload = encodeMessagePayload({ text, sentOffline })
  const envelope = await sealEnvelope(keys.contentKey, 'message', id, payload)
  const unsigned = { stamp, author: author.keyId, envelope }
  const signature = await sign(author, messageSigningBytes(keys.roomId, id, unsigned))
  return { ...unsigned, signature }
}

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

/** A tombstone carries the deleted message's own stamp, so it sorts where the message was. */
export async function composeTombstone(
  keys: RoomKeys,
  author: SigningIdentity,
  id: string,
  messageStamp: Hlc,
): Promise<TombstoneRecord> {
  const unsigned = { stamp: messageStamp, author: author.keyId }
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
    this.ownRecord(id)
    const record = await composeEdit(this.keys, this.identity, id, this.clock.next(), text)
    if (!this.closed) this.room.setEdit(id, record)
  }

  async remove(id: string): Promise<void> {
    const message = this.ownRecord(id)
    const tombstone = await composeTombstone(this.keys, this.identity, id, message.stamp)
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
