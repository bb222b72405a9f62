// The relay's structural check of Yjs updates, without sockets: it accepts everything Yjs writes,
// refuses the decode bombs and malformed input a hostile client can send, and whatever it lets
// through reads back in Yjs' own decoder.

import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { checkUpdate } from '../../src/model/update-guard'
import { seededRandom } from '../support/seeded-random'

/** A doc using every kind of struct and content Yjs has, with deletions. */
function everyKind(): Y.Doc {
  const doc = new Y.Doc({ gc: false })
  const text = doc.getText('text')
  text.insert(0, 'hello wörld 👋')
  text.format(0, 5, { bold: true })
  text.insertEmbed(3, { image: 'x.png' })
  text.delete(1, 2)
  const map = doc.getMap('map')
  map.set('number', 42)
  map.set('nested', { a: [1, 'two', null, true], b: { c: 1.5 } })
  map.set('bytes', new Uint8Array([1, 2, 3]))
  map.set('big', 2n ** 60n)
  map.set('undefined', undefined)
  map.set('submap', new Y.Map())
  map.set('subdoc', new Y.Doc())
  map.delete('number')
  const array = doc.getArray('array')
  array.push([new Uint8Array(100), 'string', 7, new Y.Array(), new Y.Text('t')])
  array.delete(0, 1)
  const xml = doc.getXmlFragment('xml')
  const element = new Y.XmlElement('p')
  element.setAttribute('class', 'x')
  element.insert(0, [new Y.XmlText('inside')])
  // Yjs' typings leave hooks out of insert(), but they are valid children.
  xml.insert(0, [element, new Y.XmlHook('hook') as unknown as Y.XmlElement])
  return doc
}

function entriesOf(update: Uint8Array): number {
  const { structs, ds } = Y.decodeUpdate(update)
  let ranges = 0
  for (const items of ds.clients.values()) ranges += items.length
  return structs.length + ranges
}

/** `[clients][structs][client][clock]` — the header Yjs allocates an array from. */
function structHeader(structs: number): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 1)
  encoding.writeVarUint(encoder, structs)
  encoding.writeVarUint(encoder, 0)
  encoding.writeVarUint(encoder, 0)
  return encoding.toUint8Array(encoder)
}

describe('checkUpdate', () => {
  it('accepts every update Yjs writes, and counts its structs and delete ranges', () => {
    const doc = everyKind()
    const updates: Uint8Array[] = []
    const live = new Y.Doc()
    live.on('update', (update: Uint8Array) => updates.push(update))
    Y.applyUpdate(live, Y.encodeStateAsUpdate(doc))
    live.getText('text').delete(0, 3)
    live.getArray('array').delete(0, 2)
    live.getMap('map').set('late', 'value')

    const candidates = [
      Y.encodeStateAsUpdate(doc),
      Y.encodeStateAsUpdate(live),
      ...updates,
      Y.mergeUpdates(updates),
      Y.diffUpdate(Y.encodeStateAsUpdate(live), Y.encodeStateVector(doc)),
      Y.encodeStateAsUpdate(new Y.Doc()),
    ]
    for (const update of candidates) {
      expect(checkUpdate(update)).toEqual({ ok: true, entries: entriesOf(update) })
    }
  })

  it('refuses the 7-byte decode bomb before Yjs allocates for it', () => {
    // 2^24 structs claimed, none present: Y.applyUpdate allocates `new Array(2^24)` (~134 MB)
    // and then fails. The check refuses it from the header alone.
    const bomb = structHeader(2 ** 24 - 1)
    expect(bomb.byteLength).toBe(7)
    const started = performance.now()
    const result = checkUpdate(bomb)
    expect(performance.now() - started).toBeLessThan(5)
    expect(result).toEqual({ ok: false, reason: '16777215 structs claimed, 2 bytes left' })
  })

  it('refuses counts that cannot fit in the bytes that follow them', () => {
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, 1000) // clients
    encoding.writeVarUint(encoder, 0)
    expect(checkUpdate(encoding.toUint8Array(encoder))).toMatchObject({ ok: false })
  })

  it('refuses delete ranges that overlap, which would make applying them quadratic', () => {
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, 0) // no structs
    encoding.writeVarUint(encoder, 1) // one client in the delete set
    encoding.writeVarUint(encoder, 7) // client id
    encoding.writeVarUint(encoder, 3) // ranges
    for (const [clock, length] of [
      [0, 1000],
      [1, 1000],
      [2, 1000],
    ]) {
      encoding.writeVarUint(encoder, clock)
      encoding.writeVarUint(encoder, length)
    }
    expect(checkUpdate(encoding.toUint8Array(encoder))).toEqual({
      ok: false,
      reason: 'delete ranges overlap or are out of order',
    })
  })

  it('refuses garbage, truncation and trailing bytes', () => {
    const valid = Y.encodeStateAsUpdate(everyKind())
    expect(checkUpdate(new Uint8Array([0xff, 0xff, 0xff]))).toMatchObject({ ok: false })
    expect(checkUpdate(new TextEncoder().encode('not a Yjs update'))).toMatchObject({ ok: false })
    expect(checkUpdate(valid.subarray(0, valid.length - 3))).toMatchObject({ ok: false })
    expect(checkUpdate(new Uint8Array([...valid, 0]))).toEqual({
      ok: false,
      reason: '1 trailing bytes',
    })
    expect(checkUpdate(new Uint8Array())).toMatchObject({ ok: false })
  })

  it('lets through only what Yjs can read back (seeded mutations)', () => {
    const seed = 0x5eed
    const random = seededRandom(seed)
    const base = Y.encodeStateAsUpdate(everyKind())
    let passed = 0
    for (let round = 0; round < 3_000; round++) {
      const mutated = new Uint8Array(base)
      for (let flips = 1 + random.int(3); flips > 0; flips--) {
        mutated[random.int(mutated.length)] = random.int(256)
      }
      const result = checkUpdate(mutated)
      if (!result.ok) continue
      passed++
      // Yjs' own (lazy, non-allocating) reader agrees on structure and count.
      expect(() => Y.decodeUpdate(mutated), `seed ${seed} round ${round}`).not.toThrow()
      expect(result.entries, `seed ${seed} round ${round}`).toBe(entriesOf(mutated))
    }
    // Some mutations only change content (a byte of a string): those must still pass.
    expect(passed).toBeGreaterThan(100)
  })

  it('lets through only what Yjs can apply, onto a doc it depends on (seeded mutations)', () => {
    // A concurrent edit of every kind of parent (array, map, text, nested map) and a deletion,
    // mutated and applied onto the doc it was written against: whatever passes must apply
    // without Yjs throwing half-way (which would leave part of it in the doc).
    const seed = Number(process.env.FUZZ_SEED ?? 0xa991e)
    const random = seededRandom(seed)
    const base = new Y.Doc()
    base.clientID = 1
    base.getArray('a').insert(0, ['x', 'y'])
    base.getMap('m').set('k', 'v')
    base.getText('t').insert(0, 'hello')
    const nested = new Y.Map<number>()
    base.getArray('a').push([nested])
    nested.set('q', 1)
    const baseUpdate = Y.encodeStateAsUpdate(base)
    const other = new Y.Doc()
    other.clientID = 2
    Y.applyUpdate(other, baseUpdate)
    other.getArray('a').insert(1, ['z'])
    other.getText('t').insert(2, 'AB')
    other.getMap('m').set('k', 'w')
    ;(other.getArray('a').get(3) as Y.Map<number>).set('r', 2)
    other.getArray('a').delete(0, 1)
    const edit = Y.diffUpdate(Y.encodeStateAsUpdate(other), Y.encodeStateVector(base))
    // Yjs threw on this one half-way before the guard knew references to one's own later clock.
    const found = Buffer.from(
      '01060200c80100010101770171c70211010102040002010177a801030177017546010501620131c60106' +
        '01070162046e756c6c010103010103010601',
      'hex',
    )
    expect(checkUpdate(found)).toEqual({
      ok: false,
      reason: 'struct 2:1 refers to its own later clock 17',
    })
    let passed = 0
    for (let round = 0; round < 20_000; round++) {
      const mutated = Uint8Array.from(edit)
      for (let flips = 1 + random.int(3); flips > 0; flips--) {
        mutated[random.int(mutated.length)] ^= 1 << random.int(8)
      }
      if (!checkUpdate(mutated).ok) continue
      passed++
      const doc = new Y.Doc()
      Y.applyUpdate(doc, baseUpdate)
      expect(() => Y.applyUpdate(doc, mutated), `seed ${seed} round ${round}`).not.toThrow()
    }
    expect(passed).toBeGreaterThan(1_000)
  })
})
