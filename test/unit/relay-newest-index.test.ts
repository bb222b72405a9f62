// The relay's NewestIndex (signaling/relay/newest-index.ts) kept up to date incrementally must
// always name what a full sort of the room would: seeded random writes, overwrites with other
// stamps, deletes with and without tombstones, bulk transactions and junk values, checked after
// every step against a brute-force order. A failing seed is printed.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  RoomDocument,
  compareSortKeys,
  encodeMessage,
  encodeTombstone,
  type SortKey,
} from '../../src/model'
import { NewestIndex } from '../../signaling/relay/newest-index'
import { seededRandom, type Random } from '../support/seeded-random'

const COUNT = 5
const AUTHORS = [1, 2, 3].map((n) => new Uint8Array(16).fill(n))
const authorId = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')

function messageId(n: number): string {
  return Buffer.from(
    new Uint8Array(16).fill(n % 256).map((b, i) => (i === 0 ? n >> 8 : b)),
  ).toString('base64url')
}

/** What a full sort says: messages, else tombstones, by display order; the newest COUNT. */
function bruteForce(room: RoomDocument): string[] {
  const keys: SortKey[] = []
  const ids = new Set([...room.idsOf('messages'), ...room.idsOf('tombstones')])
  for (const id of ids) {
    const message = room.messageKey(id)
    const stone = room.tombstone(id)
    const found = message?.ok
      ? { stamp: message.value.stamp, author: message.value.author }
      : stone?.ok
        ? { stamp: stone.value.stamp, author: stone.value.author }
        : undefined
    if (found) keys.push({ id, ...found.stamp, author: authorId(found.author) })
  }
  return keys
    .sort(compareSortKeys)
    .slice(-COUNT)
    .map((key) => key.id)
}

function randomStep(room: RoomDocument, random: Random, ids: string[]): void {
  const { messages, tombstones } = room.maps
  const stamp = { wall: random.int(50), counter: random.int(3) }
  const author = random.pick(AUTHORS)
  const record = () =>
    encodeMessage({
      stamp: { wall: random.int(50), counter: random.int(3) },
      author: random.pick(AUTHORS),
      envelope: new Uint8Array(4),
      signature: new Uint8Array(64),
    })
  const id = ids.length > 0 && random.chance(0.5) ? random.pick(ids) : messageId(ids.length)
  if (!ids.includes(id)) ids.push(id)
  switch (random.int(6)) {
    case 0: // write or overwrite (possibly with another stamp)
      messages.set(
        id,
        encodeMessage({
          stamp,
          author,
          envelope: new Uint8Array(4),
          signature: new Uint8Array(64),
        }),
      )
      return
    case 1: // delete with a tombstone in the same transaction
      room.doc.transact(() => {
        const key = room.messageKey(id)
        const stone = key?.ok ? key.value.stamp : stamp
        tombstones.set(id, encodeTombstone({ stamp: stone, author, signature: new Uint8Array(64) }))
        messages.delete(id)
      })
      return
    case 2: // vanish without a tombstone
      messages.delete(id)
      tombstones.delete(id)
      return
    case 3: // junk where a record belongs
      messages.set(id, random.chance(0.5) ? 'not a record' : new Uint8Array([1, 2, 3]))
      return
    case 4: // a bulk transaction, past the incremental path's threshold sometimes
      room.doc.transact(() => {
        const n = random.chance(0.3) ? 300 : random.int(10)
        for (let i = 0; i < n; i++) {
          const bulkId = messageId(ids.length)
          ids.push(bulkId)
          messages.set(bulkId, record())
        }
      })
      return
    default: {
      // a message written for the first time
      const fresh = messageId(ids.length)
      ids.push(fresh)
      messages.set(fresh, record())
    }
  }
}

describe('relay NewestIndex', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`names the newest messages after every change (seed ${seed})`, () => {
      const random = seededRandom(seed)
      const room = new RoomDocument(new Y.Doc())
      const index = new NewestIndex(room, COUNT)
      const ids: string[] = []
      for (let step = 0; step < 400; step++) {
        randomStep(room, random, ids)
        // Asked now and then, as newcomers come: in between it follows without being asked.
        if (random.chance(0.3) || step === 399)
          expect(
            index.messages().map((m) => m.id),
            `seed ${seed}, step ${step}`,
          ).toEqual(bruteForce(room))
      }
      index.destroy()
    })
  }

  it('gives each message its author’s key id, the members map’s key', () => {
    const room = new RoomDocument(new Y.Doc())
    const index = new NewestIndex(room, COUNT)
    const author = AUTHORS[1]
    room.maps.messages.set(
      messageId(1),
      encodeMessage({
        stamp: { wall: 1, counter: 0 },
        author,
        envelope: new Uint8Array(4),
        signature: new Uint8Array(64),
      }),
    )
    expect(index.messages()).toEqual([{ id: messageId(1), author: authorId(author) }])
    index.destroy()
  })
})
