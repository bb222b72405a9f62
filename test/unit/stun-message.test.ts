// The STUN codec against RFC 5769's test vectors (the parts a server without credentials
// uses: header, attribute walk, FINGERPRINT, XOR-MAPPED-ADDRESS) and against the rules for
// what it answers and what it drops.
import { describe, expect, it } from 'vitest'
import { formatIpAddress, parseIpAddress } from '../../signaling/stun/ip-address'
import {
  ATTR,
  BINDING_ERROR,
  BINDING_REQUEST,
  BINDING_SUCCESS,
  MAX_RESPONSE_GROWTH_BYTES,
  answerStunRequest,
  crc32,
  decodeStunMessage,
  decodeXorMappedAddress,
  encodeStunMessage,
  encodeXorMappedAddress,
  fingerprintOf,
  type StunMessage,
  type TransportAddress,
} from '../../signaling/stun/stun-message'

const hex = (text: string): Uint8Array =>
  Uint8Array.from(text.match(/[0-9a-f]{2}/gi) ?? [], (pair) => Number.parseInt(pair, 16))

// RFC 5769 §2.1–2.3, byte for byte as the RFC prints them.
const SAMPLE_REQUEST = hex(`
  00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
  00 24 00 04 6e 00 01 ff
  80 29 00 08 93 2f f9 b1 51 26 3b 36
  00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
  00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
  80 28 00 04 e5 7a 3b cf`)
const SAMPLE_IPV4_RESPONSE = hex(`
  01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 08 00 01 a1 47 e1 12 a6 43
  00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
  80 28 00 04 c0 7d 4c 96`)
const SAMPLE_IPV6_RESPONSE = hex(`
  01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
  00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
  80 28 00 04 c8 fb 0b 4c`)
const SAMPLE_TRANSACTION_ID = hex('b7 e7 a7 01 bc 34 d6 86 fa 87 df ae')
const SAMPLE_IPV4: TransportAddress = { family: 'IPv4', address: '192.0.2.1', port: 32853 }
const SAMPLE_IPV6: TransportAddress = {
  family: 'IPv6',
  address: '2001:db8:1234:5678:11:2233:4455:6677',
  port: 32853,
}

const CLIENT: TransportAddress = { family: 'IPv4', address: '203.0.113.7', port: 54321 }
const NO_SOFTWARE = { software: null }

function decoded(bytes: Uint8Array): StunMessage {
  const result = decodeStunMessage(bytes)
  if (!result.ok) throw new Error(`expected a STUN message, got ${result.reason}`)
  return result.message
}

function attribute(message: StunMessage, type: number): Uint8Array | undefined {
  return message.attributes.find((a) => a.type === type)?.value
}

function bindingRequest(attributes: { type: number; value: Uint8Array }[] = []): Uint8Array {
  return encodeStunMessage({
    type: BINDING_REQUEST,
    transactionId: Uint8Array.from({ length: 12 }, (_, i) => i + 1),
    attributes,
  })
}

/** A request with no FINGERPRINT: what most STUN clients (browsers included) send. */
function bareBindingRequest(): Uint8Array {
  const bytes = new Uint8Array(20)
  bytes.set(hex('00 01 00 00 21 12 a4 42'))
  bytes.set(hex('0a 0b 0c 0d 0e 0f 10 11 12 13 14 15'), 8)
  return bytes
}

describe('RFC 5769 test vectors', () => {
  it('decodes the sample request and verifies its FINGERPRINT', () => {
    const message = decoded(SAMPLE_REQUEST)
    expect(message.type).toBe(BINDING_REQUEST)
    expect(message.transactionId).toEqual(SAMPLE_TRANSACTION_ID)
    expect(message.hasFingerprint).toBe(true)
    expect(message.attributes.map((a) => a.type)).toEqual([
      ATTR.SOFTWARE,
      ATTR.PRIORITY,
      0x8029, // ICE-CONTROLLED
      ATTR.USERNAME,
      ATTR.MESSAGE_INTEGRITY,
      ATTR.FINGERPRINT,
    ])
    expect(new TextDecoder().decode(attribute(message, ATTR.SOFTWARE))).toBe('STUN test client')
    // USERNAME is 9 bytes padded with spaces: the value excludes the padding.
    expect(new TextDecoder().decode(attribute(message, ATTR.USERNAME))).toBe('evtj:h6vY')
  })

  it.each([
    ['IPv4', SAMPLE_IPV4_RESPONSE, SAMPLE_IPV4],
    ['IPv6', SAMPLE_IPV6_RESPONSE, SAMPLE_IPV6],
  ])('decodes the sample %s response: FINGERPRINT and XOR-MAPPED-ADDRESS', (_, bytes, address) => {
    const message = decoded(bytes)
    expect(message.type).toBe(BINDING_SUCCESS)
    expect(message.hasFingerprint).toBe(true)
    const value = attribute(message, ATTR.XOR_MAPPED_ADDRESS)
    expect(value).toBeDefined()
    expect(decodeXorMappedAddress(value!, message.transactionId)).toEqual(address)
    // And encoding the same address gives the RFC's exact bytes.
    expect(encodeXorMappedAddress(address, SAMPLE_TRANSACTION_ID)).toEqual(value)
  })

  it('computes the samples’ FINGERPRINTs with CRC-32 xor 0x5354554e', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926) // the CRC-32 check value
    for (const sample of [SAMPLE_REQUEST, SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE]) {
      const before = sample.subarray(0, sample.length - 8)
      const stored = new DataView(sample.buffer).getUint32(sample.length - 4)
      expect((crc32(before) ^ 0x5354554e) >>> 0).toBe(stored)
    }
  })

  it('answers the sample request (an ICE check) with its address', () => {
    const verdict = answerStunRequest(SAMPLE_REQUEST, SAMPLE_IPV6, { software: 'test vector' })
    if (verdict.kind !== 'success') throw new Error(`expected success, got ${verdict.kind}`)
    const response = decoded(verdict.response)
    expect(response.type).toBe(BINDING_SUCCESS)
    expect(response.transactionId).toEqual(SAMPLE_TRANSACTION_ID)
    // Same SOFTWARE and XOR-MAPPED-ADDRESS bytes as the RFC's response; no MESSAGE-INTEGRITY,
    // since this server holds no credentials.
    const rfc = decoded(SAMPLE_IPV6_RESPONSE)
    expect(attribute(response, ATTR.XOR_MAPPED_ADDRESS)).toEqual(
      attribute(rfc, ATTR.XOR_MAPPED_ADDRESS),
    )
    expect(attribute(response, ATTR.SOFTWARE)).toEqual(attribute(rfc, ATTR.SOFTWARE))
    expect(response.attributes.map((a) => a.type)).toEqual([
      ATTR.XOR_MAPPED_ADDRESS,
      ATTR.SOFTWARE,
      ATTR.FINGERPRINT,
    ])
  })
})

describe('XOR-MAPPED-ADDRESS', () => {
  const id = hex('00 11 22 33 44 55 66 77 88 99 aa bb')
  it.each<TransportAddress>([
    { family: 'IPv4', address: '0.0.0.0', port: 0 },
    { family: 'IPv4', address: '255.255.255.255', port: 65535 },
    { family: 'IPv4', address: '10.231.0.10', port: 40000 },
    { family: 'IPv6', address: '::1', port: 3478 },
    { family: 'IPv6', address: '2001:db8::', port: 1 },
    { family: 'IPv6', address: 'fe80::1:0:0:2', port: 443 },
    { family: 'IPv6', address: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 65535 },
  ])('round-trips $address port $port', (address) => {
    const value = encodeXorMappedAddress(address, id)
    expect(value).not.toBeNull()
    expect(value!.length).toBe(address.family === 'IPv4' ? 8 : 20)
    expect(decodeXorMappedAddress(value!, id)).toEqual(address)
  })

  it('reports an IPv4 client on a dual-stack socket as IPv4, and drops the IPv6 zone', () => {
    const mapped = encodeXorMappedAddress(
      { family: 'IPv6', address: '::ffff:1.2.3.4', port: 9 },
      id,
    )
    expect(decodeXorMappedAddress(mapped!, id)).toEqual({
      family: 'IPv4',
      address: '1.2.3.4',
      port: 9,
    })
    const zoned = encodeXorMappedAddress({ family: 'IPv6', address: 'fe80::1%eth0', port: 9 }, id)
    expect(decodeXorMappedAddress(zoned!, id)?.address).toBe('fe80::1')
  })

  it('refuses what is not an address and port', () => {
    for (const address of ['', 'localhost', '1.2.3', '1.2.3.256', '::1::2', '1:2:3:4:5:6:7:8:9']) {
      expect(encodeXorMappedAddress({ family: 'IPv4', address, port: 1 }, id)).toBeNull()
    }
    for (const port of [-1, 65536, 1.5, Number.NaN]) {
      expect(encodeXorMappedAddress({ family: 'IPv4', address: '1.2.3.4', port }, id)).toBeNull()
    }
    expect(decodeXorMappedAddress(hex('00 01 00 00 00 00 00'), id)).toBeNull() // short
    expect(decodeXorMappedAddress(hex('00 03 00 00 00 00 00 00'), id)).toBeNull() // family 3
    expect(decodeXorMappedAddress(hex('01 01 00 00 00 00 00 00'), id)).toBeNull() // reserved ≠ 0
  })

  it('formats IPv6 canonically (RFC 5952) and parses every spelling', () => {
    const cases: [string, string][] = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of two equal runs
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not compressed
      ['0:0:0:0:0:0:0:0', '::'],
      ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'], // '::' never stands for one group
      ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
      ['FE80::ABCD', 'fe80::abcd'],
    ]
    for (const [input, canonical] of cases) {
      const parsed = parseIpAddress(input)
      expect(parsed?.family).toBe('IPv6')
      expect(formatIpAddress(parsed!.bytes)).toBe(canonical)
    }
  })
})

describe('answerStunRequest', () => {
  it('answers a bare Binding request with the source address and a FINGERPRINT', () => {
    const request = bareBindingRequest()
    const verdict = answerStunRequest(request, CLIENT, { software: 'Parley' })
    if (verdict.kind !== 'success') throw new Error(`expected success, got ${verdict.kind}`)
    const response = decoded(verdict.response)
    expect(response.type).toBe(BINDING_SUCCESS)
    expect(response.transactionId).toEqual(request.subarray(8, 20))
    expect(response.hasFingerprint).toBe(true)
    const mapped = attribute(response, ATTR.XOR_MAPPED_ADDRESS)
    expect(decodeXorMappedAddress(mapped!, response.transactionId)).toEqual(CLIENT)
    expect(new TextDecoder().decode(attribute(response, ATTR.SOFTWARE))).toBe('Parley')
    expect(verdict.response.length).toBeLessThanOrEqual(request.length + MAX_RESPONSE_GROWTH_BYTES)
  })

  it('leaves SOFTWARE out when it would break the amplification bound', () => {
    const ipv6Client: TransportAddress = { family: 'IPv6', address: '2001:db8::7', port: 5 }
    const verdict = answerStunRequest(bareBindingRequest(), ipv6Client, { software: 'Parley' })
    if (verdict.kind !== 'success') throw new Error(`expected success, got ${verdict.kind}`)
    expect(verdict.response.length).toBe(20 + 24 + 8) // header, IPv6 address, FINGERPRINT
    expect(attribute(decoded(verdict.response), ATTR.SOFTWARE)).toBeUndefined()
  })

  it('answers requests with FINGERPRINT and with understood or optional attributes', () => {
    const request = bindingRequest([
      { type: ATTR.SOFTWARE, value: new TextEncoder().encode('a client') },
      { type: ATTR.PRIORITY, value: hex('6e 00 01 ff') },
      { type: 0xc001, value: hex('01 02 03') }, // unknown but comprehension-optional
    ])
    expect(answerStunRequest(request, CLIENT, NO_SOFTWARE).kind).toBe('success')
  })

  it('answers unknown comprehension-required attributes with 420 and UNKNOWN-ATTRIBUTES', () => {
    const request = bindingRequest([
      { type: 0x0003, value: hex('00 00 00 06') }, // RFC 5780 CHANGE-REQUEST
      { type: 0x7f00, value: new Uint8Array(0) },
      { type: 0x0003, value: hex('00 00 00 00') }, // listed once
    ])
    const verdict = answerStunRequest(request, CLIENT, NO_SOFTWARE)
    if (verdict.kind !== 'unknown-attributes') throw new Error(`expected 420, got ${verdict.kind}`)
    expect(verdict.unknown).toEqual([0x0003, 0x7f00])
    const response = decoded(verdict.response)
    expect(response.type).toBe(BINDING_ERROR)
    expect(attribute(response, ATTR.ERROR_CODE)).toEqual(
      Uint8Array.from([0, 0, 4, 20, ...new TextEncoder().encode('Unknown Attribute')]),
    )
    expect(attribute(response, ATTR.UNKNOWN_ATTRIBUTES)).toEqual(hex('00 03 7f 00'))
    expect(attribute(response, ATTR.XOR_MAPPED_ADDRESS)).toBeUndefined()
  })

  it('answers the smallest request with one unknown attribute within the bound', () => {
    const request = hex('00 01 00 04 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 01 00 03 00 00')
    const verdict = answerStunRequest(request, CLIENT, { software: 'Parley' })
    expect(verdict.kind).toBe('unknown-attributes')
    if (verdict.kind === 'unknown-attributes') {
      expect(verdict.response.length).toBe(request.length + MAX_RESPONSE_GROWTH_BYTES)
    }
  })

  it('ignores comprehension-required attributes after MESSAGE-INTEGRITY (RFC 8489 §14.5)', () => {
    const request = bindingRequest([
      { type: ATTR.MESSAGE_INTEGRITY, value: new Uint8Array(20) },
      { type: 0x0003, value: hex('00 00 00 00') },
    ])
    expect(answerStunRequest(request, CLIENT, NO_SOFTWARE).kind).toBe('success')
  })

  const drops: [string, Uint8Array, string][] = [
    ['an empty datagram', new Uint8Array(0), 'too-short'],
    ['19 bytes', bareBindingRequest().subarray(0, 19), 'too-short'],
    ['over 1280 bytes', new Uint8Array(1281), 'too-long'],
    [
      'RTP-like first bits',
      hex('80 01 00 00 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00'),
      'not-stun',
    ],
    [
      'an RFC 3489 request (no magic cookie)',
      hex('00 01 00 00 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff'),
      'no-magic-cookie',
    ],
    [
      'a length not a multiple of 4',
      hex('00 01 00 02 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00 00 00'),
      'bad-length',
    ],
    [
      'a length beyond the datagram',
      hex('00 01 00 08 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00 80 22 00 00'),
      'bad-length',
    ],
    ['trailing bytes', new Uint8Array([...bareBindingRequest(), 0, 0, 0, 0]), 'bad-length'],
    [
      'an attribute overrunning the message',
      hex('00 01 00 08 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00 80 22 00 08 41 41 41 41'),
      'bad-attribute',
    ],
    [
      'an attribute whose padding overruns',
      hex('00 01 00 08 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00 80 22 00 05 41 41 41 41'),
      'bad-attribute',
    ],
    [
      'a Binding indication',
      hex('00 11 00 00 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00'),
      'not-binding-request',
    ],
    [
      'a Binding success response',
      hex('01 01 00 00 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00'),
      'not-binding-request',
    ],
    [
      'a TURN Allocate request',
      hex('00 03 00 00 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00'),
      'not-binding-request',
    ],
  ]
  it.each(drops)('drops %s', (_, datagram, reason) => {
    expect(answerStunRequest(datagram, CLIENT, NO_SOFTWARE)).toEqual({ kind: 'drop', reason })
  })

  it('drops a request whose FINGERPRINT is wrong, short, or not last', () => {
    const good = bindingRequest()
    const corrupt = good.slice()
    corrupt[corrupt.length - 1] ^= 1
    expect(answerStunRequest(corrupt, CLIENT, NO_SOFTWARE)).toEqual({
      kind: 'drop',
      reason: 'bad-fingerprint',
    })
    // Any bit flipped in the covered bytes (here: the transaction id) fails the check too.
    const tampered = good.slice()
    tampered[10] ^= 0x80
    expect(answerStunRequest(tampered, CLIENT, NO_SOFTWARE)).toEqual({
      kind: 'drop',
      reason: 'bad-fingerprint',
    })
    // A FINGERPRINT that is right (over the header as sent) but followed by another attribute.
    const notLast = new Uint8Array([...good, 0x80, 0x22, 0x00, 0x00])
    const view = new DataView(notLast.buffer)
    view.setUint16(2, notLast.length - 20)
    const fingerprintAt = good.length - 8
    view.setUint32(fingerprintAt + 4, fingerprintOf(notLast.subarray(0, fingerprintAt)))
    expect(answerStunRequest(notLast, CLIENT, NO_SOFTWARE)).toEqual({
      kind: 'drop',
      reason: 'bad-attribute',
    })
    // FINGERPRINT with a 8-byte value.
    const long = bindingRequest([{ type: ATTR.FINGERPRINT, value: new Uint8Array(8) }])
    expect(answerStunRequest(long, CLIENT, NO_SOFTWARE).kind).toBe('drop')
  })

  it('does not answer a source that is not an address', () => {
    const verdict = answerStunRequest(
      bareBindingRequest(),
      { ...CLIENT, address: 'nowhere' },
      NO_SOFTWARE,
    )
    expect(verdict).toEqual({ kind: 'drop', reason: 'bad-source' })
  })
})
