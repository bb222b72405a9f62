// Binary record formats stored in the room document, and the exact bytes each one is signed
// over (docs/document-model.md). Records are compact, immutable and versioned; remote ones are parsed at
// runtime and never trusted to have the right shape.
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import type { Hlc } from './hlc'
import { KEY_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../lib/ed25519-sizes'

export { KEY_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES }
export const RECORD_VERSION = 1

/** The longest message a person may write, in characters (UTF-16 code units, as inputs count). */
export const MAX_MESSAGE_CHARS = 4000
/** Envelope ceiling: MAX_MESSAGE_CHARS at 3 UTF-8 bytes each, plus headroom for the payload's
 * small JSON frame and the envelope header, nonce and tag. Anything larger is hostile. */
export const MAX_ENVELOPE_BYTES = MAX_MESSAGE_CHARS * 3 + 1024
/** Ids are 16 random bytes in base64url: 128 bits make collisions between honest peers moot.
 * Author key ids are 16 bytes of a hash, written the same way: 22 characters, no padding. */
const ID_CHARS = 22
const BASE64URL = new Uint8Array(128)
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')
  BASE64URL[c.charCodeAt(0)] = 1

/** Checked for every record read (100,000s when a room loads): a table, not a regex. */
function isId16(value: string): boolean {
  if (value.length !== ID_CHARS) return false
  for (let i = 0; i < ID_CHARS; i++) if (BASE64URL[value.charCodeAt(i)] !== 1) return false
  return true
}

export function isMessageId(value: string): boolean {
  return isId16(value)
}

export function isKeyId(value: string): boolean {
  return isId16(value)
}

export interface MessageRecord {
  readonly stamp: Hlc
  readonly author: Uint8Array
  readonly envelope: Uint8Array
  readonly signature: Uint8Array
}

/** The latest edit of a message; only its author's edits count. */
export interface EditRecord {
  readonly stamp: Hlc
  readonly author: Uint8Array
  readonly envelope: Uint8Array
  readonly signature: Uint8Array
}

/** A signed delete: carries the deleted message's sort stamp so it still sorts in place. */
export interface TombstoneRecord {
  readonly stamp: Hlc
  readonly author: Uint8Array
  readonly signature: Uint8Array
}

/** A member's self-signed entry: their public key and their encrypted display name. */
export interface MemberRecord {
  readonly stamp: Hlc
  readonly publicKey: Uint8Array
  readonly envelope: Uint8Array
  readonly signature: Uint8Array
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string }

/** Domain labels keep a signature over one kind of record from verifying as another. */
const Label = {
  message: 'parley/v1/message',
  edit: 'parley/v1/edit',
  delete: 'parley/v1/delete',
  member: 'parley/v1/member',
} as const

function writeStamp(encoder: encoding.Encoder, stamp: Hlc): void {
  encoding.writeVarUint(encoder, stamp.wall)
  encoding.writeVarUint(encoder, stamp.counter)
}

function readStamp(decoder: decoding.Decoder): Hlc {
  const wall = decoding.readVarUint(decoder)
  const counter = decoding.readVarUint(decoder)
  if (!Number.isSafeInteger(wall) || !Number.isSafeInteger(counter)) throw new Error('bad stamp')
  return { wall, counter }
}

function readView(decoder: decoding.Decoder, length: number): Uint8Array {
  if (decoder.arr.length - decoder.pos < length) throw new Error('truncated')
  return decoding.readUint8Array(decoder, length)
}

/** A copy: a view would keep the whole Yjs update it came from alive. */
function readFixed(decoder: decoding.Decoder, length: number): Uint8Array {
  return readView(decoder, length).slice()
}

function readEnvelopeLength(decoder: decoding.Decoder): number {
  const length = decoding.readVarUint(decoder)
  if (length > MAX_ENVELOPE_BYTES) throw new Error('envelope too large')
  return length
}

function readEnvelope(decoder: decoding.Decoder): Uint8Array {
  return readFixed(decoder, readEnvelopeLength(decoder))
}

/** Runs a decoder over untrusted bytes: any throw, a wrong version or trailing bytes → reason. */
function parse<T>(value: unknown, read: (decoder: decoding.Decoder) => T): Parsed<T> {
  if (!(value instanceof Uint8Array)) return { ok: false, reason: 'not bytes' }
  if (value.length > MAX_ENVELOPE_BYTES + 256) return { ok: false, reason: 'too large' }
  try {
    const decoder = decoding.createDecoder(value)
    const version = decoding.readVarUint(decoder)
    if (version !== RECORD_VERSION) return { ok: false, reason: `unknown version ${version}` }
    const record = read(decoder)
    if (decoding.hasContent(decoder)) return { ok: false, reason: 'trailing bytes' }
    return { ok: true, value: record }
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : 'malformed' }
  }
}

function encode(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, RECORD_VERSION)
  write(encoder)
  return encoding.toUint8Array(encoder)
}

export function encodeMessage(record: MessageRecord): Uint8Array {
  return encode((e) => {
    writeStamp(e, record.stamp)
    encoding.writeUint8Array(e, record.author)
    encoding.writeVarUint8Array(e, record.envelope)
    encoding.writeUint8Array(e, record.signature)
  })
}

export function parseMessage(value: unknown): Parsed<MessageRecord> {
  return parse(value, (d) => ({
    stamp: readStamp(d),
    author: readFixed(d, KEY_ID_BYTES),
    envelope: readEnvelope(d),
    signature: readFixed(d, SIGNATURE_BYTES),
  }))
}

/** What a message record sorts by, read without copying: the author is a view of `value`. The
 * whole record is still checked, so what passes here also passes parseMessage. */
export interface MessageKey {
  readonly stamp: Hlc
  readonly author: Uint8Array
}

export function parseMessageKey(value: unknown): Parsed<MessageKey> {
  return parse(value, (d) => {
    const stamp = readStamp(d)
    const author = readView(d, KEY_ID_BYTES)
    readView(d, readEnvelopeLength(d))
    readView(d, SIGNATURE_BYTES)
    return { stamp, author }
  })
}

export function encodeEdit(record: EditRecord): Uint8Array {
  return encodeMessage(record)
}

export function parseEdit(value: unknown): Parsed<EditRecord> {
  return parseMessage(value)
}

export function encodeTombstone(record: TombstoneRecord): Uint8Array {
  return encode((e) => {
    writeStamp(e, record.stamp)
    encoding.writeUint8Array(e, record.author)
    encoding.writeUint8Array(e, record.signature)
  })
}

export function parseTombstone(value: unknown): Parsed<TombstoneRecord> {
  return parse(value, (d) => ({
    stamp: readStamp(d),
    author: readFixed(d, KEY_ID_BYTES),
    signature: readFixed(d, SIGNATURE_BYTES),
  }))
}

export function encodeMember(record: MemberRecord): Uint8Array {
  return encode((e) => {
    writeStamp(e, record.stamp)
    encoding.writeUint8Array(e, record.publicKey)
    encoding.writeVarUint8Array(e, record.envelope)
    encoding.writeUint8Array(e, record.signature)
  })
}

export function parseMember(value: unknown): Parsed<MemberRecord> {
  return parse(value, (d) => ({
    stamp: readStamp(d),
    publicKey: readFixed(d, PUBLIC_KEY_BYTES),
    envelope: readEnvelope(d),
    signature: readFixed(d, SIGNATURE_BYTES),
  }))
}

function signingBytes(
  label: string,
  roomId: string,
  subject: string,
  write: (e: encoding.Encoder) => void,
): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, label)
  encoding.writeVarUint(encoder, RECORD_VERSION)
  encoding.writeVarString(encoder, roomId)
  encoding.writeVarString(encoder, subject)
  write(encoder)
  return encoding.toUint8Array(encoder)
}

type Unsigned<T> = Omit<T, 'signature'>

/** Signed: format version, room id, message id, sort key, author key id, envelope. */
export function messageSigningBytes(
  roomId: string,
  id: string,
  record: Unsigned<MessageRecord>,
): Uint8Array {
  return signingBytes(Label.message, roomId, id, (e) => {
    writeStamp(e, record.stamp)
    encoding.writeUint8Array(e, record.author)
    encoding.writeVarUint8Array(e, record.envelope)
  })
}

export function editSigningBytes(
  roomId: string,
  id: string,
  record: Unsigned<EditRecord>,
): Uint8Array {
  return signingBytes(Label.edit, roomId, id, (e) => {
    writeStamp(e, record.stamp)
    encoding.writeUint8Array(e, record.author)
    encoding.writeVarUint8Array(e, record.envelope)
  })
}

export function tombstoneSigningBytes(
  roomId: string,
  id: string,
  record: Unsigned<TombstoneRecord>,
): Uint8Array {
  return signingBytes(Label.delete, roomId, id, (e) => {
    writeStamp(e, record.stamp)
    encoding.writeUint8Array(e, record.author)
  })
}

export function memberSigningBytes(
  roomId: string,
  keyId: string,
  record: Unsigned<MemberRecord>,
): Uint8Array {
  return signingBytes(Label.member, roomId, keyId, (e) => {
    writeStamp(e, record.stamp)
    encoding.writeUint8Array(e, record.publicKey)
    encoding.writeVarUint8Array(e, record.envelope)
  })
}
