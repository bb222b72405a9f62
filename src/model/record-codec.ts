// The byte-level pieces every record format shares (docs/document-model.md, "Record formats"):
// sizes, stamps, bounded reads of untrusted bytes, version dispatch and domain-separated
// signing bytes. records.ts builds the formats from these.
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import type { Hlc } from './hlc'

import { KEY_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../lib/ed25519-sizes'

export { KEY_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES }
/** SHA-256, as a tombstone names the record it deletes. */
export const HASH_BYTES = 32

/** The longest message a person may write, in characters (UTF-16 code units, as inputs count). */
export const MAX_MESSAGE_CHARS = 4000
/** Envelope ceiling: MAX_MESSAGE_CHARS at 3 UTF-8 bytes each, plus headroom for the payload's
 * small JSON frame and the envelope header, nonce and tag. Anything larger is hostile. */
export const MAX_ENVELOPE_BYTES = MAX_MESSAGE_CHARS * 3 + 1024
/** Edits a message may have: far more than anyone makes, small enough to stay a safe integer. */
export const MAX_REVISION = 1_000_000

/** Ids are 16 random bytes in base64url: 128 bits make collisions between honest peers moot.
 * Author key ids are 16 bytes of a hash, written the same way: 22 characters, no padding. */
const ID_CHARS = 22
const BASE64URL = new Uint8Array(128)
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')
  BASE64URL[c.charCodeAt(0)] = 1

/** Checked for every record read (100,000s when a room loads): a table, not a regex. */
export function isId16(value: string): boolean {
  if (value.length !== ID_CHARS) return false
  for (let i = 0; i < ID_CHARS; i++) if (BASE64URL[value.charCodeAt(i)] !== 1) return false
  return true
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string }

export function writeStamp(encoder: encoding.Encoder, stamp: Hlc): void {
  encoding.writeVarUint(encoder, stamp.wall)
  encoding.writeVarUint(encoder, stamp.counter)
}

export function readStamp(decoder: decoding.Decoder): Hlc {
  const wall = decoding.readVarUint(decoder)
  const counter = decoding.readVarUint(decoder)
  if (!Number.isSafeInteger(wall) || !Number.isSafeInteger(counter)) throw new Error('bad stamp')
  return { wall, counter }
}

export function readView(decoder: decoding.Decoder, length: number): Uint8Array {
  if (decoder.arr.length - decoder.pos < length) throw new Error('truncated')
  return decoding.readUint8Array(decoder, length)
}

/** A copy: a view would keep the whole Yjs update it came from alive. */
export function readFixed(decoder: decoding.Decoder, length: number): Uint8Array {
  return readView(decoder, length).slice()
}

export function readEnvelopeLength(decoder: decoding.Decoder): number {
  const length = decoding.readVarUint(decoder)
  if (length > MAX_ENVELOPE_BYTES) throw new Error('envelope too large')
  return length
}

export function readEnvelope(decoder: decoding.Decoder): Uint8Array {
  return readFixed(decoder, readEnvelopeLength(decoder))
}

/** Runs the reader for the record's version over untrusted bytes: any throw, an unknown version
 * or trailing bytes → a reason, never an exception. */
export function parseVersioned<T>(
  value: unknown,
  readers: Partial<Record<number, (decoder: decoding.Decoder) => T>>,
): Parsed<T> {
  if (!(value instanceof Uint8Array)) return { ok: false, reason: 'not bytes' }
  if (value.length > MAX_ENVELOPE_BYTES + 256) return { ok: false, reason: 'too large' }
  try {
    const decoder = decoding.createDecoder(value)
    const version = decoding.readVarUint(decoder)
    const read = readers[version]
    if (!read) return { ok: false, reason: `unknown version ${version}` }
    const record = read(decoder)
    if (decoding.hasContent(decoder)) return { ok: false, reason: 'trailing bytes' }
    return { ok: true, value: record }
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : 'malformed' }
  }
}

export function encodeVersioned(
  version: number,
  write: (encoder: encoding.Encoder) => void,
): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, version)
  write(encoder)
  return encoding.toUint8Array(encoder)
}

/** Label, format version, room id and subject (message id or key id) come first, so a
 * signature over one kind of record, room or version never verifies as another. */
export function signingBytes(
  label: string,
  version: number,
  roomId: string,
  subject: string,
  write: (e: encoding.Encoder) => void,
): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, label)
  encoding.writeVarUint(encoder, version)
  encoding.writeVarString(encoder, roomId)
  encoding.writeVarString(encoder, subject)
  write(encoder)
  return encoding.toUint8Array(encoder)
}
