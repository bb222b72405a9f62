// STUN codec fuzz (STYLE.md): seeded random datagrams and mutations of valid requests go
// through answerStunRequest. It must never throw; it must answer exactly the datagrams an
// independent, deliberately plain reading of RFC 8489 calls well-formed Binding requests; an
// answer must be a valid STUN message for the same transaction, within the amplification
// bound, naming the sender's address. The seed is printed on failure (replay with FUZZ_SEED);
// pin failing seeds in PINNED_SEEDS.
import { isIP } from 'node:net'
import { describe, expect, it } from 'vitest'
import { formatIpAddress, parseIpAddress } from '../../signaling/stun/ip-address'
import {
  ATTR,
  BINDING_ERROR,
  BINDING_REQUEST,
  BINDING_SUCCESS,
  MAX_REQUEST_BYTES,
  MAX_RESPONSE_GROWTH_BYTES,
  answerStunRequest,
  decodeStunMessage,
  decodeXorMappedAddress,
  encodeStunMessage,
  type StunAttribute,
  type TransportAddress,
} from '../../signaling/stun/stun-message'
import { seededRandom, type Random } from '../support/seeded-random'

const PINNED_SEEDS: number[] = []
const DATAGRAMS_PER_SEED = 3_000

// Attribute types worth drawing: understood, unknown required, optional, and the edge values.
const ATTRIBUTE_TYPES = [
  ATTR.USERNAME,
  ATTR.MESSAGE_INTEGRITY,
  ATTR.MESSAGE_INTEGRITY_SHA256,
  ATTR.PRIORITY,
  ATTR.USE_CANDIDATE,
  ATTR.XOR_MAPPED_ADDRESS,
  ATTR.SOFTWARE,
  ATTR.FINGERPRINT,
  0x0000,
  0x0003, // CHANGE-REQUEST: unknown to us
  0x7fff,
  0x8000,
  0x8029, // ICE-CONTROLLED
  0xffff,
]

/** The reading of RFC 8489 the codec is held to, written plainly and separately. */
function reference(datagram: Uint8Array): { answer: false } | { answer: true; unknown: number[] } {
  const no = { answer: false } as const
  const u16 = (at: number) => datagram[at] * 256 + datagram[at + 1]
  const u32 = (at: number) => u16(at) * 65536 + u16(at + 2)
  if (datagram.length < 20 || datagram.length > MAX_REQUEST_BYTES) return no
  if (u16(0) !== 0x0001) return no // Binding request (also covers the top two bits)
  if (u32(4) !== 0x2112a442) return no
  if (u16(2) % 4 !== 0 || u16(2) + 20 !== datagram.length) return no
  const unknown: number[] = []
  let pos = 20
  let sawIntegrity = false
  while (pos < datagram.length) {
    if (pos + 4 > datagram.length) return no
    const type = u16(pos)
    const length = u16(pos + 2)
    const end = pos + 4 + Math.ceil(length / 4) * 4
    if (end > datagram.length) return no
    if (type === 0x8028) {
      if (length !== 4 || end !== datagram.length) return no
      if (u32(pos + 4) !== (crc32Reference(datagram.subarray(0, pos)) ^ 0x5354554e) >>> 0) {
        return no
      }
    }
    const ignored = sawIntegrity && type !== 0x001c && type !== 0x8028
    if (type === 0x0008 || type === 0x001c) sawIntegrity = true
    const understood = [1, 6, 8, 9, 0x0a, 0x14, 0x15, 0x1c, 0x1d, 0x1e, 0x20, 0x24, 0x25]
    if (!ignored && type < 0x8000 && !understood.includes(type) && !unknown.includes(type)) {
      unknown.push(type)
    }
    pos = end
  }
  return { answer: true, unknown }
}

/** Bit by bit, as the CRC-32 definition reads (the codec uses a table). */
function crc32Reference(bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of bytes) {
    crc ^= byte
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1
  }
  return (crc ^ 0xffffffff) >>> 0
}

function randomSource(random: Random): TransportAddress {
  const port = random.int(65536)
  if (random.chance(0.6)) {
    return { family: 'IPv4', address: Array.from(random.bytes(4)).join('.'), port }
  }
  const bytes = random.bytes(16)
  if (random.chance(0.2)) bytes.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]) // v4-mapped
  return { family: 'IPv6', address: formatIpAddress(bytes)!, port }
}

function randomAttribute(random: Random): StunAttribute {
  const type = random.chance(0.8) ? random.pick(ATTRIBUTE_TYPES) : random.int(0x10000)
  return { type, value: random.bytes(random.chance(0.1) ? random.int(300) : random.int(24)) }
}

/** A valid request: random attributes, then FINGERPRINT kept or cut off. */
function validRequest(random: Random): Uint8Array {
  const attributes = Array.from({ length: random.int(6) }, () => randomAttribute(random)).filter(
    (a) => a.type !== ATTR.FINGERPRINT,
  )
  const withFingerprint = encodeStunMessage({
    type: BINDING_REQUEST,
    transactionId: random.bytes(12),
    attributes,
  })
  if (random.chance(0.5)) return withFingerprint
  const bare = withFingerprint.slice(0, withFingerprint.length - 8)
  new DataView(bare.buffer).setUint16(2, bare.length - 20)
  return bare
}

function mutate(random: Random, input: Uint8Array): Uint8Array {
  let bytes = input.slice()
  const edits = 1 + random.int(3)
  for (let i = 0; i < edits; i++) {
    const at = bytes.length === 0 ? 0 : random.int(bytes.length)
    switch (random.int(7)) {
      case 0: // flip one bit
        if (bytes.length > 0) bytes[at] ^= 1 << random.int(8)
        break
      case 1: // set a byte
        if (bytes.length > 0) bytes[at] = random.int(256)
        break
      case 2: // truncate
        bytes = bytes.slice(0, random.int(bytes.length + 1))
        break
      case 3: // append
        bytes = new Uint8Array([...bytes, ...random.bytes(random.int(12))])
        break
      case 4: // the header's length field
        if (bytes.length >= 4) new DataView(bytes.buffer).setUint16(2, random.int(0x10000))
        break
      case 5: // an attribute's length field (attributes start at 20, lengths at +2)
        if (bytes.length >= 24) {
          const field = 22 + 4 * random.int((bytes.length - 22) >> 2)
          if (field + 2 <= bytes.length) {
            new DataView(bytes.buffer).setUint16(field, random.int(64))
          }
        }
        break
      default: // the message type
        if (bytes.length >= 2) {
          const type = random.pick([0x0001, 0x0011, 0x0101, 0x0111, 0x0003, 0x4001, 0xc001])
          new DataView(bytes.buffer).setUint16(0, type)
        }
    }
  }
  return bytes
}

function randomDatagram(random: Random): Uint8Array {
  const roll = random.next()
  if (roll < 0.15) return random.bytes(random.int(random.chance(0.1) ? 1500 : 64))
  if (roll < 0.35) return validRequest(random)
  return mutate(random, validRequest(random))
}

const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

function checkDatagram(datagram: Uint8Array, source: TransportAddress, software: string | null) {
  const verdict = answerStunRequest(datagram, source, { software })
  const expected = reference(datagram)
  if (!expected.answer) {
    expect(verdict.kind, 'answered what the reference calls malformed').toBe('drop')
    return
  }
  if (verdict.kind === 'drop') throw new Error(`dropped a valid request: ${verdict.reason}`)
  expect(verdict.response.length).toBeLessThanOrEqual(datagram.length + MAX_RESPONSE_GROWTH_BYTES)
  const decoded = decodeStunMessage(verdict.response)
  if (!decoded.ok) throw new Error(`answer does not decode: ${decoded.reason}`)
  const response = decoded.message
  expect(response.hasFingerprint).toBe(true)
  expect(response.transactionId).toEqual(datagram.subarray(8, 20))
  if (expected.unknown.length > 0) {
    expect(verdict.kind).toBe('unknown-attributes')
    expect(response.type).toBe(BINDING_ERROR)
    const listed = response.attributes.find((a) => a.type === ATTR.UNKNOWN_ATTRIBUTES)?.value
    const types = Array.from({ length: (listed?.length ?? 0) / 2 }, (_, i) =>
      new DataView(listed!.buffer, listed!.byteOffset).getUint16(2 * i),
    )
    expect(types).toEqual(expected.unknown)
    return
  }
  expect(response.type).toBe(BINDING_SUCCESS)
  const mapped = response.attributes.find((a) => a.type === ATTR.XOR_MAPPED_ADDRESS)?.value
  const address = mapped && decodeXorMappedAddress(mapped, response.transactionId)
  const sourceIp = parseIpAddress(source.address)!
  expect(address).toEqual({
    family: sourceIp.family,
    address: formatIpAddress(sourceIp.bytes),
    port: source.port,
  })
}

function runSeed(seed: number): { answered: number; dropped: number } {
  const random = seededRandom(seed)
  let answered = 0
  let dropped = 0
  for (let i = 0; i < DATAGRAMS_PER_SEED; i++) {
    const datagram = randomDatagram(random)
    const source = randomSource(random)
    const software = random.pick([null, 'Parley', 'x'.repeat(40)])
    try {
      checkDatagram(datagram, source, software)
    } catch (error) {
      console.error(
        `stun fuzz failed: seed ${seed}, datagram ${i}: ${toHex(datagram)} from ` +
          `${source.address}:${source.port}, software ${JSON.stringify(software)}`,
      )
      throw error
    }
    if (reference(datagram).answer) answered++
    else dropped++
  }
  return { answered, dropped }
}

describe('STUN codec fuzz', () => {
  const base = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000)
  const seeds = [...PINNED_SEEDS, ...Array.from({ length: 10 }, (_, i) => base + i)]
  for (const seed of seeds) {
    it(`answers exactly the well-formed Binding requests, within bounds (seed ${seed})`, () => {
      const { answered, dropped } = runSeed(seed)
      // Both sides of the oracle must be exercised, or the run proves little.
      expect(answered).toBeGreaterThan(DATAGRAMS_PER_SEED / 10)
      expect(dropped).toBeGreaterThan(DATAGRAMS_PER_SEED / 10)
    })
  }

  it(`parses IP address text exactly as node:net accepts it (seed ${base})`, () => {
    const random = seededRandom(base)
    const alphabet = '0123456789abcdefABCDEF:.%'
    for (let i = 0; i < 20_000; i++) {
      const text = random.chance(0.5)
        ? Array.from({ length: random.int(45) }, () => random.pick([...alphabet])).join('')
        : (formatIpAddress(random.bytes(random.pick([4, 16]))) ?? '')
      try {
        const parsed = parseIpAddress(text)
        const bare = text.split('%')[0]
        // Accepted iff node:net calls it an address; a zone only after an IPv6 address.
        expect(parsed !== null, text).toBe(
          isIP(text) === 4 || (isIP(bare) === 6 && text.indexOf('%') !== 0),
        )
        if (parsed) {
          const again = parseIpAddress(formatIpAddress(parsed.bytes)!)
          expect(again, text).toEqual(parsed)
        }
      } catch (error) {
        console.error(`ip address fuzz failed: seed ${base}, input ${JSON.stringify(text)}`)
        throw error
      }
    }
  })
})
