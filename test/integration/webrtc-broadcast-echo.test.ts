// y-webrtc syncs a browser's tabs over BroadcastChannel through lib0, which hands every message
// to the publishing tab's own subscribers too. Unpatched, a tab then decrypts and applies each
// of its own updates a second time — the whole room again right after a newcomer's sync. The
// patch marks its messages and ignores them on the way back (patches/README.md). Node 20 has
// BroadcastChannel, so this is y-webrtc's real cross-tab path, with no signaling.
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { WebrtcProvider } from 'y-webrtc'

/** Long enough for lib0's loop-back and y-webrtc's encrypt/decrypt round to complete. */
const SETTLE_MS = 300

it('a tab does not apply its own cross-tab messages again', async () => {
  const doc = new Y.Doc()
  const provider = new WebrtcProvider(`echo-${Math.random()}`, doc, {
    signaling: [],
    password: 'tab secret',
  })
  await provider.key
  const room = provider.room
  if (!room) throw new Error('y-webrtc did not open the room')
  const fromOwnTabs: unknown[] = []
  doc.on('afterTransaction', (transaction: Y.Transaction) => {
    if (transaction.origin === room) fromOwnTabs.push(transaction.origin)
  })

  const incoming = new Y.Doc()
  incoming.getMap('messages').set('m1', new Uint8Array(64 * 1024))
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(incoming))
  doc.getMap('messages').set('m2', 'written here')
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))

  expect(doc.getMap('messages').size).toBe(2)
  // Every transaction with the room as origin came from a BroadcastChannel message.
  expect(fromOwnTabs).toEqual([])
  provider.disconnect()
  provider.destroy()
  doc.destroy()
})
