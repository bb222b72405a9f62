// A token holder's replica, run in a test namespace: a stock y-websocket client that connects
// to a room's relay with only the relay token and writes what it is given, as anyone holding
// the token (the relay's operator included) could. Usage:
//   node --import tsx vandal-client.ts <relay ws url> <room id> <token> <writes as JSON>
// writes: { messages?: { [id]: base64url record }, typesUnder?: { edits?: string[], … },
//           deleteFrom?: { messages?: string[], tombstones?: string[], … } }
// Deletes come first in the same transaction; the writes must include at least one set (a
// delete alone advances no clock, so the relay's state vector could not show it stored).
// Prints "vandal wrote" once the relay has stored the writes (its sync step 1 covers them).
import * as decoding from 'lib0/decoding'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

interface Writes {
  messages?: Record<string, string>
  typesUnder?: Record<string, string[]>
  deleteFrom?: Record<string, string[]>
}

const [url, roomId, token, json] = process.argv.slice(2)
const writes = JSON.parse(json) as Writes
const doc = new Y.Doc()
let wrote = false

/** Sees the relay's sync step 1 (its durable state vector) before the provider does. */
class ObservedWebSocket extends WebSocket {
  constructor(address: string, protocols?: string | string[]) {
    super(address, protocols)
    this.on('message', (data: Buffer) => {
      const decoder = decoding.createDecoder(new Uint8Array(data))
      if (decoding.readVarUint(decoder) !== 0 || decoding.readVarUint(decoder) !== 0) return
      const stored = Y.decodeStateVector(decoding.readVarUint8Array(decoder))
      if (wrote && (stored.get(doc.clientID) ?? 0) >= Y.getState(doc.store, doc.clientID)) {
        console.log('vandal wrote')
      }
    })
  }
}

const provider = new WebsocketProvider(url, roomId, doc, {
  params: { token },
  disableBc: true,
  WebSocketPolyfill: ObservedWebSocket as unknown as typeof globalThis.WebSocket,
})
provider.once('sync', () => {
  doc.transact(() => {
    for (const [map, keys] of Object.entries(writes.deleteFrom ?? {}))
      for (const key of keys) doc.getMap(map).delete(key)
    for (const [id, record] of Object.entries(writes.messages ?? {}))
      doc.getMap('messages').set(id, new Uint8Array(Buffer.from(record, 'base64url')))
    for (const [map, keys] of Object.entries(writes.typesUnder ?? {}))
      for (const key of keys) doc.getMap(map).set(key, new Y.Map())
  })
  wrote = true
})
process.on('SIGTERM', () => {
  provider.destroy()
  process.exit(0)
})
