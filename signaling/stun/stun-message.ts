// The STUN wire format (RFC 8489) for the one thing Parley's server does with it: tell a
// browser which address and port its Binding request came from, so the browser can offer that
// address (a "server-reflexive" ICE candidate) to peers behind other NATs. No sockets here: a
// datagram and its source go in, a response to send (or the reason for silence) comes out.
//
// PROTOCOL (all integers big-endian; RFC 8489 §5, §14):
//
//   header, 20 bytes:   0b00 + 14-bit type | 16-bit length | 0x2112A442 | 12-byte transaction id
//     type:             Binding request 0x0001, success response 0x0101, error response 0x0111
//     length:           bytes after the header, a multiple of 4; must match the datagram
//   attributes:         16-bit type | 16-bit value length | value | zero padding to 4 bytes
//     < 0x8000          comprehension-required: a request carrying one we do not know gets 420
//     XOR-MAPPED-ADDRESS 0x0020: 0 | family (1 IPv4, 2 IPv6) | port ^ 0x2112 |
//                       address ^ cookie (IPv4) or ^ cookie‖transaction id (IPv6)
//     ERROR-CODE 0x0009: 0x0000 | class (hundreds) | number (rest) | UTF-8 reason
//     UNKNOWN-ATTRIBUTES 0x000A: the unknown types, 16 bits each
//     SOFTWARE 0x8022:  UTF-8 product name
//     FINGERPRINT 0x8028: CRC-32 of everything before it, xor 0x5354554E; always last
//
// What is answered: a well-formed Binding request, with a success response (XOR-MAPPED-ADDRESS,
// SOFTWARE if it fits, FINGERPRINT) or a 420 listing unknown comprehension-required attributes.
// Everything else is dropped without a word: malformed input, a wrong FINGERPRINT, indications,
// responses, other methods, and RFC 3489 "classic" requests without the magic cookie (no browser
// sends them, and telling them from noise would mean answering noise). No answer is ever more
// than MAX_RESPONSE_GROWTH_BYTES larger than the request that caused it.

import { formatIpAddress, parseIpAddress, type IpFamily } from './ip-address'

export const MAGIC_COOKIE = 0x2112a442
export const HEADER_BYTES = 20
const TRANSACTION_ID_BYTES = 12
const ATTRIBUTE_HEADER_BYTES = 4

export const BINDING_REQUEST = 0x0001
export const BINDING_SUCCESS = 0x0101
export const BINDING_ERROR = 0x0111

export const ATTR = {
  MAPPED_ADDRESS: 0x0001,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  REALM: 0x0014,
  NONCE: 0x0015,
  MESSAGE_INTEGRITY_SHA256: 0x001c,
  PASSWORD_ALGORITHM: 0x001d,
  USERHASH: 0x001e,
  XOR_MAPPED_ADDRESS: 0x0020,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  SOFTWARE: 0x8022,
  FINGERPRINT: 0x8028,
} as const

/**
 * Comprehension-required attributes this server understands. Those of RFC 8489 itself; we use
 * no credentials, so USERNAME, MESSAGE-INTEGRITY and friends are understood and ignored, as a
 * server without authentication does. PRIORITY and USE-CANDIDATE (ICE, RFC 8445) change nothing
 * about a Binding answer, so an ICE agent pointed at us still learns its address. Anything
 * else below 0x8000 (e.g. RFC 5780's CHANGE-REQUEST, which we cannot honour) gets 420.
 */
const UNDERSTOOD_REQUIRED = new Set<number>([
  ATTR.MAPPED_ADDRESS,
  ATTR.USERNAME,
  ATTR.MESSAGE_INTEGRITY,
  ATTR.ERROR_CODE,
  ATTR.UNKNOWN_ATTRIBUTES,
  ATTR.REALM,
  ATTR.NONCE,
  ATTR.MESSAGE_INTEGRITY_SHA256,
  ATTR.PASSWORD_ALGORITHM,
  ATTR.USERHASH,
  ATTR.XOR_MAPPED_ADDRESS,
  ATTR.PRIORITY,
  ATTR.USE_CANDIDATE,
])

const FINGERPRINT_XOR = 0x5354554e
const FAMILY_IPV4 = 0x01
const FAMILY_IPV6 = 0x02

/**
 * RFC 8489 §6.1: without a known path MTU, STUN over UDP stays within 576 bytes (IPv4) and
 * 1280 (IPv6). A bigger datagram is not from a STUN client; not reading it bounds our work.
 */
export const MAX_REQUEST_BYTES = 1280

/**
 * The most an answer may exceed its request by: the cost of the smallest complete answers,
 * an IPv6 XOR-MAPPED-ADDRESS + FINGERPRINT (+32 over a bare 20-byte request) or a 420 naming
 * one unknown attribute (+40 over a 24-byte request). So a spoofed request reflected at a
 * victim gains at most 40 bytes (×3 for the smallest request, less for any larger one), and the
 * server's rate limits cap how often that can happen. Optional attributes (SOFTWARE) are added
 * only while the answer stays within this bound.
 */
export const MAX_RESPONSE_GROWTH_BYTES = 40

const UNKNOWN_ATTRIBUTE_REASON = 'Unknown Attribute'

export interface TransportAddress {
  family: IpFamily
  address: string
  port: number
}

export interface StunAttribute {
  type: number
  /** The value without padding (a view into the message's bytes). */
  value: Uint8Array
}

export interface StunMessage {
  /** The 14-bit message type, e.g. BINDING_REQUEST. */
  type: number
  transactionId: Uint8Array
  /** In wire order, FINGERPRINT included. */
  attributes: StunAttribute[]
  /** Whether a FINGERPRINT was present (decodeStunMessage rejects a wrong one). */
  hasFingerprint: boolean
}

export type StunDropReason =
  | 'too-short'
  | 'too-long'
  | 'not-stun'
  | 'no-magic-cookie'
  | 'bad-length'
  | 'bad-attribute'
  | 'bad-fingerprint'
  | 'not-binding-request'
  | 'bad-source'
  | 'answer-too-large'

export type DecodeResult =
  { ok: true; message: StunMessage } | { ok: false; reason: StunDropReason }

export type StunVerdict =
  | { kind: 'success'; response: Uint8Array }
  | { kind: 'unknown-attributes'; response: Uint8Array; unknown: number[] }
  | { kind: 'drop'; reason: StunDropReason }

export interface AnswerOptions {
  /** SOFTWARE attribute value for answers, or null for none. */
  software: string | null
}

/**
 * Decodes one STUN message filling `datagram` exactly. Checks the header, walks every
 * attribute within bounds and verifies a FINGERPRINT if there is one; it does not look at
 * attribute values otherwise. Never throws.
 */
export function decodeStunMessage(datagram: Uint8Array): DecodeResult {
  if (datagram.length < HEADER_BYTES) return { ok: false, reason: 'too-short' }
  if (datagram.length > MAX_REQUEST_BYTES) return { ok: false, reason: 'too-long' }
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength)
  const type = view.getUint16(0)
  // The top two bits tell STUN apart from RTP, DTLS and the rest sharing a port (RFC 7983).
  if (type & 0xc000) return { ok: false, reason: 'not-stun' }
  if (view.getUint32(4) !== MAGIC_COOKIE) return { ok: false, reason: 'no-magic-cookie' }
  const length = view.getUint16(2)
  if (length % 4 !== 0 || HEADER_BYTES + length !== datagram.length) {
    return { ok: false, reason: 'bad-length' }
  }

  const attributes: StunAttribute[] = []
  let hasFingerprint = false
  for (let offset = HEADER_BYTES; offset < datagram.length;) {
    if (hasFingerprint) return { ok: false, reason: 'bad-attribute' } // FINGERPRINT must be last
    if (offset + ATTRIBUTE_HEADER_BYTES > datagram.length)
      return { ok: false, reason: 'bad-attribute' }
    const attrType = view.getUint16(offset)
    const valueLength = view.getUint16(offset + 2)
    const valueStart = offset + ATTRIBUTE_HEADER_BYTES
    const next = valueStart + padded(valueLength)
    if (next > datagram.length) return { ok: false, reason: 'bad-attribute' }
    if (attrType === ATTR.FINGERPRINT) {
      if (valueLength !== 4) return { ok: false, reason: 'bad-attribute' }
      if (view.getUint32(valueStart) !== fingerprintOf(datagram.subarray(0, offset))) {
        return { ok: false, reason: 'bad-fingerprint' }
      }
      hasFingerprint = true
    }
    attributes.push({
      type: attrType,
      value: datagram.subarray(valueStart, valueStart + valueLength),
    })
    offset = next
  }
  return {
    ok: true,
    message: {
      type,
      transactionId: new Uint8Array(datagram.subarray(8, HEADER_BYTES)),
      attributes,
      hasFingerprint,
    },
  }
}

/**
 * What the server should do with one datagram from `source`: the bytes to send back, or why
 * not. Pure and total: any input gives a verdict, never an exception.
 */
export function answerStunRequest(
  datagram: Uint8Array,
  source: TransportAddress,
  options: AnswerOptions,
): StunVerdict {
  const decoded = decodeStunMessage(datagram)
  if (!decoded.ok) return { kind: 'drop', reason: decoded.reason }
  const request = decoded.message
  if (request.type !== BINDING_REQUEST) return { kind: 'drop', reason: 'not-binding-request' }
  const budget = datagram.length + MAX_RESPONSE_GROWTH_BYTES

  const unknown = unknownRequiredAttributes(request.attributes)
  if (unknown.length > 0) {
    const response = fitOptional(budget, options, (software) =>
      encodeStunMessage({
        type: BINDING_ERROR,
        transactionId: request.transactionId,
        attributes: [
          { type: ATTR.ERROR_CODE, value: encodeErrorCode(420, UNKNOWN_ATTRIBUTE_REASON) },
          { type: ATTR.UNKNOWN_ATTRIBUTES, value: encodeUint16List(unknown) },
          ...software,
        ],
      }),
    )
    return response
      ? { kind: 'unknown-attributes', response, unknown }
      : { kind: 'drop', reason: 'answer-too-large' }
  }

  const mapped = encodeXorMappedAddress(source, request.transactionId)
  if (mapped === null) return { kind: 'drop', reason: 'bad-source' }
  const response = fitOptional(budget, options, (software) =>
    encodeStunMessage({
      type: BINDING_SUCCESS,
      transactionId: request.transactionId,
      attributes: [{ type: ATTR.XOR_MAPPED_ADDRESS, value: mapped }, ...software],
    }),
  )
  return response ? { kind: 'success', response } : { kind: 'drop', reason: 'answer-too-large' }
}

/** Builds the answer with SOFTWARE if that fits the budget, else without, else null. */
function fitOptional(
  budget: number,
  options: AnswerOptions,
  build: (software: StunAttribute[]) => Uint8Array,
): Uint8Array | null {
  if (options.software !== null) {
    const value = new TextEncoder().encode(options.software)
    const withSoftware = build([{ type: ATTR.SOFTWARE, value }])
    if (withSoftware.length <= budget) return withSoftware
  }
  const bare = build([])
  return bare.length <= budget ? bare : null
}

/**
 * Unknown comprehension-required types, each once, in order of appearance. Attributes after
 * MESSAGE-INTEGRITY (other than its SHA-256 twin and FINGERPRINT) are ignored, as RFC 8489
 * §14.5 asks, so they cannot earn a 420 either.
 */
function unknownRequiredAttributes(attributes: readonly StunAttribute[]): number[] {
  const unknown: number[] = []
  let afterIntegrity = false
  for (const { type } of attributes) {
    if (afterIntegrity && type !== ATTR.MESSAGE_INTEGRITY_SHA256 && type !== ATTR.FINGERPRINT) {
      continue
    }
    if (type === ATTR.MESSAGE_INTEGRITY || type === ATTR.MESSAGE_INTEGRITY_SHA256) {
      afterIntegrity = true
    }
    if (type < 0x8000 && !UNDERSTOOD_REQUIRED.has(type) && !unknown.includes(type)) {
      unknown.push(type)
    }
  }
  return unknown
}

export interface EncodeInput {
  type: number
  transactionId: Uint8Array
  /** Written in order; FINGERPRINT is appended (omit it here). */
  attributes: readonly StunAttribute[]
}

/** Encodes a message and appends FINGERPRINT. Used for answers, and by tests as a client. */
export function encodeStunMessage(input: EncodeInput): Uint8Array {
  if (input.transactionId.length !== TRANSACTION_ID_BYTES) {
    throw new RangeError(`transaction id must be ${TRANSACTION_ID_BYTES} bytes`)
  }
  const bodyLength =
    input.attributes.reduce((sum, a) => sum + ATTRIBUTE_HEADER_BYTES + padded(a.value.length), 0) +
    ATTRIBUTE_HEADER_BYTES +
    4
  const bytes = new Uint8Array(HEADER_BYTES + bodyLength)
  const view = new DataView(bytes.buffer)
  view.setUint16(0, input.type)
  view.setUint16(2, bodyLength)
  view.setUint32(4, MAGIC_COOKIE)
  bytes.set(input.transactionId, 8)
  let offset = HEADER_BYTES
  for (const { type, value } of input.attributes) {
    view.setUint16(offset, type)
    view.setUint16(offset + 2, value.length)
    bytes.set(value, offset + ATTRIBUTE_HEADER_BYTES)
    offset += ATTRIBUTE_HEADER_BYTES + padded(value.length)
  }
  view.setUint16(offset, ATTR.FINGERPRINT)
  view.setUint16(offset + 2, 4)
  view.setUint32(offset + 4, fingerprintOf(bytes.subarray(0, offset)))
  return bytes
}

/** XOR-MAPPED-ADDRESS value for `address`, or null if it is not an IP address and port. */
export function encodeXorMappedAddress(
  address: TransportAddress,
  transactionId: Uint8Array,
): Uint8Array | null {
  const ip = parseIpAddress(address.address)
  if (ip === null || !Number.isInteger(address.port) || address.port < 0 || address.port > 0xffff) {
    return null
  }
  const value = new Uint8Array(4 + ip.bytes.length)
  const view = new DataView(value.buffer)
  view.setUint8(1, ip.family === 'IPv4' ? FAMILY_IPV4 : FAMILY_IPV6)
  view.setUint16(2, address.port ^ (MAGIC_COOKIE >>> 16))
  const mask = xorMask(transactionId)
  ip.bytes.forEach((byte, i) => (value[4 + i] = byte ^ mask[i]))
  return value
}

/** Reads an XOR-MAPPED-ADDRESS value; null unless it is exactly an IPv4 or IPv6 one. */
export function decodeXorMappedAddress(
  value: Uint8Array,
  transactionId: Uint8Array,
): TransportAddress | null {
  if (value.length < 4 || value[0] !== 0) return null
  const family = value[1] === FAMILY_IPV4 ? 'IPv4' : value[1] === FAMILY_IPV6 ? 'IPv6' : null
  if (family === null || value.length !== (family === 'IPv4' ? 8 : 20)) return null
  const port = ((value[2] << 8) | value[3]) ^ (MAGIC_COOKIE >>> 16)
  const mask = xorMask(transactionId)
  const address = formatIpAddress(value.subarray(4).map((byte, i) => byte ^ mask[i]))
  return address === null ? null : { family, address, port }
}

/** The magic cookie followed by the transaction id: what X-Address is xored with. */
function xorMask(transactionId: Uint8Array): Uint8Array {
  const mask = new Uint8Array(4 + TRANSACTION_ID_BYTES)
  new DataView(mask.buffer).setUint32(0, MAGIC_COOKIE)
  mask.set(transactionId.subarray(0, TRANSACTION_ID_BYTES), 4)
  return mask
}

function encodeErrorCode(code: number, reason: string): Uint8Array {
  const phrase = new TextEncoder().encode(reason)
  const value = new Uint8Array(4 + phrase.length)
  value[2] = Math.floor(code / 100)
  value[3] = code % 100
  value.set(phrase, 4)
  return value
}

function encodeUint16List(values: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 2)
  const view = new DataView(bytes.buffer)
  values.forEach((v, i) => view.setUint16(2 * i, v))
  return bytes
}

function padded(length: number): number {
  return (length + 3) & ~3
}

/** FINGERPRINT value for a message whose bytes before the FINGERPRINT attribute are `bytes`. */
export function fingerprintOf(bytes: Uint8Array): number {
  return (crc32(bytes) ^ FINGERPRINT_XOR) >>> 0
}

// CRC-32 as in ISO 3309 / zlib (reflected polynomial 0xEDB88320). zlib.crc32 needs Node 22.
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}
