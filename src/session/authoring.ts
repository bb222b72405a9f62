// Builds the signed, encrypted records a person writes: one place that knows which envelope
// purpose and which signing bytes go with each kind of record.
import {
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
import { sealEnvelope, sign, toBase64Url, type RoomKeys, type SigningIdentity } from '../crypto'

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
