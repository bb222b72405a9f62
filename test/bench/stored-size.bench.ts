// Item 3a: bytes the room document takes per message (docs/architecture.md), for realistic text, encrypted
// and signed by the real authoring code, against the floor (the text's UTF-8 bytes plus what
// no design can avoid: a 12-byte nonce, a 16-byte GCM tag, a 64-byte Ed25519 signature and a
// 16-byte id) and against a naive layout (a Y.Map of plaintext fields per message).
import * as Y from 'yjs'
import { BenchReport, quick, sizeLabel } from './support/report'
import { roomFixture } from './support/room-fixture'
import { utf8Length } from './support/chat-text'
import { seededRandom } from '../support/seeded-random'

const SIZES = quick ? [1_000] : [10_000, 100_000]
const FLOOR_OVERHEAD = 12 + 16 + 64 + 16
/** Pushing onto one Y.Array walks the list (O(n) per message): past 10k the naive layout takes
 * minutes to build, and its bytes per message no longer change with history length. */
const NAIVE_MAX = 10_000

/** What a naive chat would store: one Y.Map per message in a Y.Array, fields in clear, one
 * transaction per message, a new Yjs client per session as in the Parley fixture. */
function naiveBytes(texts: readonly string[]): number {
  const random = seededRandom(3)
  const doc = new Y.Doc()
  const list = doc.getArray<Y.Map<unknown>>('messages')
  let wall = Date.now()
  texts.forEach((text, i) => {
    if (i % 40 === 0) doc.clientID = random.int(2 ** 31)
    wall += random.int(8_000)
    doc.transact(() => {
      const message = new Y.Map<unknown>()
      list.push([message])
      message.set('id', `m${random.int(2 ** 31).toString(36)}${i.toString(36)}`)
      message.set('author', `Person ${random.int(4)}`)
      message.set('ts', wall)
      message.set('text', text)
    })
  })
  const bytes = Y.encodeStateAsUpdate(doc).length
  doc.destroy()
  return bytes
}

const report = new BenchReport('stored-size')
console.log('Stored size of the room document per message')
for (const n of SIZES) {
  const fixture = await roomFixture(n)
  const textBytes = fixture.texts.reduce((sum, t) => sum + utf8Length(t), 0)
  const parley = fixture.update.length / n
  const floor = (textBytes + n * FLOOR_OVERHEAD) / n
  report.add({
    id: `stored-bytes-per-message-${sizeLabel(n)}`,
    name: `Stored bytes per message, ${sizeLabel(n)} messages (mean text ${(textBytes / n).toFixed(0)} B)`,
    unit: 'B',
    parley,
    peer: floor,
    peerLabel: 'floor: text + nonce + tag + signature + id',
    goal: { maxRatio: 1.6, text: '≤ 1.6× floor' },
  })
  report.add({
    id: `stored-bytes-vs-naive-${sizeLabel(n)}`,
    name: `Stored bytes per message vs plaintext Y.Map per message, ${sizeLabel(n)}`,
    unit: 'B',
    parley,
    peer: naiveBytes(fixture.texts.slice(0, NAIVE_MAX)) / Math.min(n, NAIVE_MAX),
    peerLabel: 'naive: Y.Map per message, plaintext',
    note:
      n > NAIVE_MAX ? `naive measured on the first ${sizeLabel(NAIVE_MAX)} messages` : undefined,
  })
}
report.write()
