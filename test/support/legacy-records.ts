// Version 1 records, as rooms written before records carried their author's key hold them
// (docs/document-model.md, "Record formats"): built here for tests, never by the app.
import {
  encodeMessagePayload,
  messageSigningBytes,
  tombstoneSigningBytes,
  type Hlc,
  type MessageRecord,
  type TombstoneRecord,
} from '../../src/model'
import { sealEnvelope, sign, type RoomKeys, type SigningIdentity } from '../../src/crypto'

export async function composeLegacyMessage(
  keys: RoomKeys,
  author: SigningIdentity,
  id: string,
  stamp: Hlc,
  text: string,
): Promise<MessageRecord> {
  const payload = encodeMessagePayload({ text, sentOffline: false })
  const envelope = await sealEnvelope(keys.contentKey, 'message', id, payload)
  const unsigned = { stamp, author: author.keyId, envelope }
  const signature = await sign(author, messageSigningBytes(keys.roomId, id, unsigned))
  return { ...unsigned, signature }
}

export async function composeLegacyTombstone(
  keys: RoomKeys,
  author: SigningIdentity,
  id: string,
  stamp: Hlc,
): Promise<TombstoneRecord> {
  const unsigned = { stamp, author: author.keyId }
  const signature = await sign(author, tombstoneSigningBytes(keys.roomId, id, unsigned))
  return { ...unsigned, signature }
}
