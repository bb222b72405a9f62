// Puts a whole room on a relay, as a replica that holds it would, run in a test namespace: a
// stock y-websocket client with the room's token applies the update in `file` and waits until
// the relay has stored all of it (its sync step 1 covers our clocks). Usage:
//   node --import tsx room-pusher.ts <relay ws url> <room id> <token> <update file>
// Prints "room stored" once it has, then stays connected until SIGTERM.
import { readFileSync } from 'node:fs'
import * as decoding from 'lib0/decoding'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

const [url, roomId, token, file] = process.argv.slice(2)
const doc = new Y.Doc()
Y.applyUpdate(doc, new Uint8Array(readFileSync(file)))
const wanted = Y.decodeStateVector(Y.encodeStateVector(doc))
let reported = false

/** Sees the relay's sync step 1 (its durable state vector) before the provider does. */
class ObservedWebSocket extends WebSocket {
  constructor(address: string, protocols?: string | string[]) {
    super(address, protocols)
    this.on('message', (data: Buffer) => {
      const decoder = decoding.createDecoder(new Uint8Array(data))
      if (decoding.readVarUint(decoder) !== 0 || decoding.readVarUint(decoder) !== 0) return
      const stored = Y.decodeStateVector(decoding.readVarUint8Array(decoder))
      if (!reported && [...wanted].every(([client, clock]) => (stored.get(client) ?? 0) >= clock)) {
        reported = true
        console.log('room stored')
      }
    })
  }
}

const provider = new WebsocketProvider(url, roomId, doc, {
  params: { token },
  disableBc: true,
  WebSocketPolyfill: ObservedWebSocket as unknown as typeof globalThis.WebSocket,
})
process.on('SIGTERM', () => {
  provider.destroy()
  process.exit(0)
})
