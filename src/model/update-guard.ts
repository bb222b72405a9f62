// Bounds what decoding an untrusted Yjs update can cost before Y.applyUpdate sees it. It lives in
// model/ and imports lib0 only, so the relay (signaling/) and the browsers check updates alike.
// Yjs trusts the counts in an update's header: `readClientsStructRefs` allocates
// `new Array(count)` before reading a single struct, so a 7-byte update claiming 2^24 structs
// allocates ~134 MB and takes ~60–120 ms (measured, yjs 13.6.33, Node 20), and a delete set with
// overlapping ranges makes applying it walk the same structs once per range. This walks the V1
// encoding once, in time linear in its bytes and without materializing structs, and refuses:
//   - any count larger than the bytes left to hold it (each counted entry takes ≥ 1 byte),
//   - unknown struct or content kinds, strings that are not UTF-8 and JSON that does not
//     parse (Yjs would throw on them half-way through reading),
//   - delete ranges that are empty, overlap or go backwards within a client (Yjs writes them
//     sorted and merged), or clocks past 2^53,
//   - a struct that refers (origin, right origin, parent) to its own client's clock at or
//     after its own: Yjs looks such a reference up without checking and throws half-way,
//     with part of the update integrated,
//   - truncated input and trailing bytes.
// Whatever passes reads back without error in Yjs' own reader. Decoding still costs ~400 bytes
// of heap per struct (measured: 200,000 five-byte Items, 1 MB on the wire, retain 76 MB), so the
// check also returns how many structs and delete ranges the update holds, for the room to weigh
// against its own limit before applying it. (Applying can still fail on references that make
// no sense: the room handles that.)
//
// V1 layout (yjs src/utils/encoding.js, UpdateDecoderV1):
//   update  = [clients]{ [structs][client][clock] struct* } deleteSet
//   struct  = [info u8] then: info&31 == 0 GC [len]; == 10 Skip [len]; else an Item:
//             origin [client][clock] if info&128; right origin [client][clock] if info&64;
//             if neither: [parentIsKey] then a string key or [client][clock]; and a string
//             parentSub if info&32; then its content (readItemContent, by info&31).
//   deleteSet = [clients]{ [client][ranges]{ [clock][len] } }

import * as decoding from 'lib0/decoding'

/** `entries`: structs plus delete ranges, what decoding the update materializes. */
export type UpdateCheck = { ok: true; entries: number } | { ok: false; reason: string }

// Content kinds (info & 31) — yjs `contentRefs`.
const Content = {
  GC: 0,
  DELETED: 1,
  JSON: 2,
  BINARY: 3,
  STRING: 4,
  EMBED: 5,
  FORMAT: 6,
  TYPE: 7,
  ANY: 8,
  DOC: 9,
  SKIP: 10,
} as const

// Type refs of ContentType — yjs `typeRefs`; XmlElement (3) and XmlHook (5) carry a name.
const MAX_TYPE_REF = 6
const NAMED_TYPE_REFS = new Set([3, 5])

const BIT6 = 32
const BIT7 = 64
const BIT8 = 128
const BITS5 = 31

class Refusal extends Error {}

export function checkUpdate(update: Uint8Array): UpdateCheck {
  const decoder = decoding.createDecoder(update)
  try {
    const structs = readStructs(decoder)
    const deleteRanges = readDeleteSet(decoder)
    if (decoding.hasContent(decoder)) throw new Refusal(`${remaining(decoder)} trailing bytes`)
    return { ok: true, entries: structs + deleteRanges }
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, reason: error.message }
    // lib0's "Unexpected end of array", a RangeError from absurd nesting in an Any value, ...
    const message = error instanceof Error ? error.message : String(error)
    return { ok: false, reason: `unreadable: ${message.slice(0, 80)}` }
  }
}

function readStructs(decoder: decoding.Decoder): number {
  let total = 0
  const clients = readCount(decoder, 'clients')
  for (let c = 0; c < clients; c++) {
    const structs = readCount(decoder, 'structs')
    const client = decoding.readVarUint(decoder)
    let clock = decoding.readVarUint(decoder)
    for (let s = 0; s < structs; s++) clock += readStruct(decoder, client, clock)
    total += structs
  }
  return total
}

/** Reads one struct of `client` at `clock`; returns its length (the clocks it takes). */
function readStruct(decoder: decoding.Decoder, client: number, clock: number): number {
  const info = readByte(decoder)
  const kind = info & BITS5
  if (kind === Content.GC || info === Content.SKIP) return decoding.readVarUint(decoder)
  // A client refers only to what it wrote before (Yjs never looks for its own later clocks,
  // and throws half-way through integrating when one is missing).
  const own = (id: { client: number; clock: number }) => {
    if (id.client === client && id.clock >= clock) {
      throw new Refusal(`struct ${client}:${clock} refers to its own later clock ${id.clock}`)
    }
  }
  if ((info & BIT8) !== 0) own(readId(decoder)) // origin
  if ((info & BIT7) !== 0) own(readId(decoder)) // right origin
  if ((info & (BIT7 | BIT8)) === 0) {
    const parentIsKey = decoding.readVarUint(decoder) === 1
    if (parentIsKey) readString(decoder)
    else own(readId(decoder))
    if ((info & BIT6) !== 0) readString(decoder) // parentSub
  }
  return readContent(decoder, kind)
}

/** Reads an item's content; returns its length as Yjs counts it (ContentX.getLength). */
function readContent(decoder: decoding.Decoder, kind: number): number {
  switch (kind) {
    case Content.DELETED:
      return decoding.readVarUint(decoder)
    case Content.JSON: {
      const count = readCount(decoder, 'JSON values')
      for (let i = 0; i < count; i++) {
        const text = decoding.readVarString(decoder)
        if (text !== 'undefined') parseJson(text)
      }
      return count
    }
    case Content.BINARY:
      decoding.readVarUint8Array(decoder)
      return 1
    case Content.STRING:
      // UTF-16 code units, as Yjs counts a string's clocks.
      return decoding.readVarString(decoder).length
    case Content.EMBED:
      parseJson(decoding.readVarString(decoder))
      return 1
    case Content.FORMAT:
      readString(decoder) // key
      parseJson(decoding.readVarString(decoder))
      return 1
    case Content.TYPE: {
      const typeRef = decoding.readVarUint(decoder)
      if (typeRef > MAX_TYPE_REF) throw new Refusal(`unknown type ref ${typeRef}`)
      if (NAMED_TYPE_REFS.has(typeRef)) readString(decoder)
      return 1
    }
    case Content.ANY: {
      const count = readCount(decoder, 'Any values')
      for (let i = 0; i < count; i++) readAny(decoder)
      return count
    }
    case Content.DOC: {
      readString(decoder) // guid
      // Yjs spreads the options into a new Y.Doc's and reads fields of them: an object or bust.
      const options = readAny(decoder)
      if (typeof options !== 'object' || options === null) throw new Refusal('subdoc options')
      return 1
    }
    default:
      throw new Refusal(`unknown content kind ${kind}`)
  }
}

function readDeleteSet(decoder: decoding.Decoder): number {
  let total = 0
  const clients = readCount(decoder, 'delete-set clients')
  // Per client, where its last range ended: ranges must move forward and not overlap.
  const ends = new Map<number, number>()
  for (let c = 0; c < clients; c++) {
    const client = decoding.readVarUint(decoder)
    const ranges = readCount(decoder, 'delete ranges')
    let end = ends.get(client) ?? 0
    for (let r = 0; r < ranges; r++) {
      const clock = decoding.readVarUint(decoder)
      const length = decoding.readVarUint(decoder)
      if (clock < end) throw new Refusal('delete ranges overlap or are out of order')
      // Yjs never writes an empty range, and throws re-encoding one it holds back.
      if (length === 0) throw new Refusal('empty delete range')
      if (clock + length > Number.MAX_SAFE_INTEGER) throw new Refusal('delete range past 2^53')
      end = clock + length
    }
    ends.set(client, end)
    total += ranges
  }
  return total
}

function readCount(decoder: decoding.Decoder, what: string): number {
  const count = decoding.readVarUint(decoder)
  if (count > remaining(decoder)) {
    throw new Refusal(`${count} ${what} claimed, ${remaining(decoder)} bytes left`)
  }
  return count
}

function readId(decoder: decoding.Decoder): { client: number; clock: number } {
  return { client: decoding.readVarUint(decoder), clock: decoding.readVarUint(decoder) }
}

function readByte(decoder: decoding.Decoder): number {
  // lib0's readUint8 does not check bounds (it returns undefined past the end).
  if (!decoding.hasContent(decoder)) throw new Refusal('truncated')
  return decoding.readUint8(decoder)
}

/** Reads a varString as Yjs does: lib0 decodes UTF-8 strictly and throws on bad bytes. */
function readString(decoder: decoding.Decoder): void {
  decoding.readVarString(decoder)
}

function readAny(decoder: decoding.Decoder): unknown {
  // lib0 allocates only what the bytes hold (every element takes ≥ 1 byte); past the end it
  // reads `undefined` as a type tag and throws a TypeError, which checkUpdate reports.
  if (!decoding.hasContent(decoder)) throw new Refusal('truncated')
  return decoding.readAny(decoder)
}

function parseJson(text: string): void {
  try {
    JSON.parse(text)
  } catch {
    throw new Refusal('JSON content does not parse')
  }
}

function remaining(decoder: decoding.Decoder): number {
  return decoder.arr.length - decoder.pos
}
