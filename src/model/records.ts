// Binary record formats stored in the room document, and the exact bytes each one is signed
// over (docs/document-model.md, "Record formats"). Records are compact and versioned; remote
// ones are parsed at runtime and never trusted to have the right shape. Version 2 messages and
// tombstones carry their author's public key, so each verifies on its own, without the members
// map; version 1 records (written before) are still read.
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import type { Hlc } from './hlc'
import {
  HASH_BYTES,
  KEY_ID_BYTES,
  MAX_REVISION,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  encodeVersioned,
  isId16,
  parseVersioned,
  readEnvelope,
  readEnvelopeLength,
  readFixed,
  readStamp,
  readView,
  signingBytes,
  writeStamp,
  type Parsed,
} from './record-codec'

export {
  HASH_BYTES,
  KEY_ID_BYTES,
  MAX_ENVELOPE_BYTES,
  MAX_MESSAGE_CHARS,
  MAX_REVISION,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  type Parsed,
} from './record-codec'

/** The version new messages and tombstones are written in. */
export const RECORD_VERSION = 2
export const LEGACY_RECORD_VERSION = 1

export function isMessageId(value: string): boolean {
  return isId16(value)
}

export function isKeyId(value: string): boolean {
  return isId16(value)
}

/**
 * A message. Version 2 (publicKey present) verifies alone and is edited in place: its author
 * writes a new record under the same id with the same stamp, a higher revision and the edited
 * text, so the old text is garbage-collected on every replica like a delete
 * (docs/document-model.md, "Edits"). Version 1 has no key, revision or revised stamp.
 */
export interface MessageRecord {
  /** Where the message sorts: when it was first written. */
  readonly stamp: Hlc
  /** Author key id: the first 16 bytes of SHA-256 of the public key. */
  readonly author: Uint8Array
  /** v2: the author's Ed25519 public key. */
  readonly publicKey?: Uint8Array
  /** v2: 0 as first written, n after the n-th edit. */
  readonly revision?: number
  /** v2: when this revision was written (= stamp for revision 0, later for an edit). */
  readonly revised?: Hlc
  readonly envelope: Uint8Array
  readonly signature: Uint8Array
}

export interface MessageRecordV2 extends MessageRecord {
  readonly publicKey: Uint8Array
  readonly revision: number
  readonly revised: Hlc
}

export function isV2Message(record: MessageRecord): record is MessageRecordV2 {
  return record.publicKey !== undefined
}

/** A version 1 edit, kept beside the original in the edits map; read for v1 messages only. */
export interface EditRecord {
  readonly stamp: Hlc
  readonly author: Uint8Array
  readonly envelope: Uint8Array
  readonly signature: Uint8Array
}

/**
 * A signed delete: carries the deleted message's sort stamp so it still sorts in place. Version
 * 2 (publicKey present) also carries the SHA-256 of the deleted message record, signed with
 * it, so the delete stays checkable on its own after the record is garbage-collected.
 */
export interface TombstoneRecord {
  readonly stamp: Hlc
  readonly author: Uint8Array
  readonly publicKey?: Uint8Array
  readonly deleted?: Uint8Array
  readonly signature: Uint8Array
}

/** A member's self-signed entry: their public key and their encrypted display name. It has
 * verified alone since version 1, so its format stays version 1. */
export interface MemberRecord {
  readonly stamp: Hlc
  readonly publicKey: Uint8Array
  readonly envelope: Uint8Array
  readonly signature: Uint8Array
}

/** Domain labels keep a signature over one kind of record from verifying as another. */
const Label = {
  message: 'parley/v1/message',
  edit: 'parley/v1/edit',
  delete: 'parley/v1/delete',
  member: 'parley/v1/member',
  messageV2: 'parley/v2/message',
  deleteV2: 'parley/v2/delete',
} as const

function sameStamp(a: Hlc, b: Hlc): boolean {
  return a.wall === b.wall && a.counter === b.counter
}

function isAfter(a: Hlc, b: Hlc): boolean {
  return a.wall > b.wall || (a.wall === b.wall && a.counter > b.counter)
}

function readRevision(d: decoding.Decoder, stamp: Hlc): { revision: number; revised: Hlc } {
  const revision = decoding.readVarUint(d)
  if (!(revision <= MAX_REVISION)) throw new Error('revision out of range')
  const revised = readStamp(d)
  // Revision 0 is the message as first written; an edit comes after it.
  if (revision === 0 ? !sameStamp(revised, stamp) : !isAfter(revised, stamp))
    throw new Error('revision stamp out of order')
  return { revision, revised }
}

export function encodeMessage(record: MessageRecord): Uint8Array {
  if (isV2Message(record))
    return encodeVersioned(2, (e) => {
      writeStamp(e, record.stamp)
      encoding.writeUint8Array(e, record.author)
      encoding.writeUint8Array(e, record.publicKey)
      encoding.writeVarUint(e, record.revision)
      writeStamp(e, record.revised)
      encoding.writeVarUint8Array(e, record.envelope)
      encoding.writeUint8Array(e, record.signature)
    })
  return encodeVersioned(1, (e) => {
    writeStamp(e, record.stamp)
    encoding.writeUint8Array(e, record.author)
    encoding.writeVarUint8Array(e, record.envelope)
    encoding.writeUint8Array(e, record.signature)
  })
}

const messageReaders = {
  1: (d: decoding.Decoder): MessageRecord => ({
    stamp: readStamp(d),
    author: readFixed(d, KEY_ID_BYTES),
    envelope: readEnvelope(d),
    signature: readFixed(d, SIGNATURE_BYTES),
  }),
  2: (d: decoding.Decoder): MessageRecordV2 => {
    const stamp = readStamp(d)
    const author = readFixed(d, KEY_ID_BYTES)
    const publicKey = readFixed(d, PUBLIC_KEY_BYTES)
    const { revision, revised } = readRevision(d, stamp)
    const envelope = readEnvelope(d)
    return {
      stamp,
      author,
      publicKey,
      revision,
      revised,
      envelope,
      signature: readFixed(d, SIGNATURE_BYTES),
    }
  },
}

export function parseMessage(value: unknown): Parsed<MessageRecord> {
  return parseVersioned(value, messageReaders)
}

/** What a message record sorts by, read without copying: the author is a view of `value`. The
 * whole record is still checked, so what passes here also passes parseMessage. */
export interface MessageKey {
  readonly stamp: Hlc
  readonly author: Uint8Array
  /** 0 for version 1. */
  readonly revision: number
}

export function parseMessageKey(value: unknown): Parsed<MessageKey> {
  return parseVersioned(value, {
    1: (d) => {
      const stamp = readStamp(d)
      const author = readView(d, KEY_ID_BYTES)
      readView(d, readEnvelopeLength(d))
      readView(d, SIGNATURE_BYTES)
      return { stamp, author, revision: 0 }
    },
    2: (d) => {
      const stamp = readStamp(d)
      const author = readView(d, KEY_ID_BYTES)
      readView(d, PUBLIC_KEY_BYTES)
      const { revision } = readRevision(d, stamp)
      readView(d, readEnvelopeLength(d))
      readView(d, SIGNATURE_BYTES)
      return { stamp, author, revision }
    },
  })
}

export function encodeEdit(record: EditRecord): Uint8Array {
  const { stamp, author, envelope, signature } = record
  return encodeMessage({ stamp, author, envelope, signature })
}

export function parseEdit(value: unknown): Parsed<EditRecord> {
  return parseVersioned(value, { 1: messageReaders[1] })
}

export function encodeTombstone(record: TombstoneRecord): Uint8Array {
  const { publicKey, deleted } = record
  if (publicKey && deleted)
    return encodeVersioned(2, (e) => {
      writeStamp(e, record.stamp)
      encoding.writeUint8Array(e, record.author)
      encoding.writeUint8Array(e, publicKey)
      encoding.writeUint8Array(e, deleted)
      encoding.writeUint8Array(e, record.signature)
    })
  return encodeVersioned(1, (e) => {
    writeStamp(e, record.stamp)
    encoding.writeUint8Array(e, record.author)
    encoding.writeUint8Array(e, record.signature)
  })
}

export function parseTombstone(value: unknown): Parsed<TombstoneRecord> {
  return parseVersioned(value, {
    1: (d) => ({
      stamp: readStamp(d),
      author: readFixed(d, KEY_ID_BYTES),
      signature: readFixed(d, SIGNATURE_BYTES),
    }),
    2: (d) => ({
      stamp: readStamp(d),
      author: readFixed(d, KEY_ID_BYTES),
      publicKey: readFixed(d, PUBLIC_KEY_BYTES),
      deleted: readFixed(d, HASH_BYTES),
      signature: readFixed(d, SIGNATURE_BYTES),
    }),
  })
}

export function encodeMember(record: MemberRecord): Uint8Array {
  return encodeVersioned(1, (e) => {
    writeStamp(e, record.stamp)
    encoding.writeUint8Array(e, record.publicKey)
    encoding.writeVarUint8Array(e, record.envelope)
    encoding.writeUint8Array(e, record.signature)
  })
}

export function parseMember(value: unknown): Parsed<MemberRecord> {
  return parseVersioned(value, {
    1: (d) => ({
      stamp: readStamp(d),
      publicKey: readFixed(d, PUBLIC_KEY_BYTES),
      envelope: readEnvelope(d),
      signature: readFixed(d, SIGNATURE_BYTES),
    }),
  })
}

type Unsigned<T> = Omit<T, 'signature'>

/** v1 messages. Signed: format version, room id, message id, sort key, author key id, envelope. */
export function messageSigningBytes(
  roomId: string,
  id: string,
  record: Unsigned<MessageRecord>,
): Uint8Array {
  return signingBytes(Label.message, 1, roomId, id, (e) => {
    writeStamp(e, record.stamp)
    encoding.writeUint8Array(e, record.author)
    encoding.writeVarUint8Array(e, record.envelope)
  })
}

/** v2 messages: the v1 fields plus the public key, revision and revision stamp. */
export function messageSigningBytesV2(
  roomId: string,
  id: string,
  record: Unsigned<MessageRecordV2>,
): Uint8Array {
  return signingBytes(Label.messageV2, 2, roomId, id, (e) => {
    writeStamp(e, record.stamp)
    encoding.writeUint8Array(e, record.author)
    encoding.writeUint8Array(e, record.publicKey)
    encoding.writeVarUint(e, record.revision)
    writeStamp(e, record.revised)
    encoding.writeVarUint8Array(e, record.envelope)
  })
}

export function editSigningBytes(
  roomId: string,
  id: string,
  record: Unsigned<EditRecord>,
): Uint8Array {
  return signingBytes(Label.edit, 1, roomId, id, (e) => {
    writeStamp(e, record.stamp)
    encoding.writeUint8Array(e, record.author)
    encoding.writeVarUint8Array(e, record.envelope)
  })
}

/** v1: room, id, stamp and author only. v2 adds the public key and the deleted record's hash. */
export function tombstoneSigningBytes(
  roomId: string,
  id: string,
  record: Unsigned<TombstoneRecord>,
): Uint8Array {
  const { publicKey, deleted } = record
  if (publicKey && deleted)
    return signingBytes(Label.deleteV2, 2, roomId, id, (e) => {
      writeStamp(e, record.stamp)
      encoding.writeUint8Array(e, record.author)
      encoding.writeUint8Array(e, publicKey)
      encoding.writeUint8Array(e, deleted)
    })
  return signingBytes(Label.delete, 1, roomId, id, (e) => {
    writeStamp(e, record.stamp)
    encoding.writeUint8Array(e, record.author)
  })
}

export function memberSigningBytes(
  roomId: string,
  keyId: string,
  record: Unsigned<MemberRecord>,
): Uint8Array {
  return signingBytes(Label.member, 1, roomId, keyId, (e) => {
    writeStamp(e, record.stamp)
    encoding.writeUint8Array(e, record.publicKey)
    encoding.writeVarUint8Array(e, record.envelope)
  })
}
