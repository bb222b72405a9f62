// The floor for the relay and signaling benchmarks: a `ws` server that knows nothing of Yjs or
// signaling and forwards every frame to the other sockets on the same URL path.
//   node --import tsx raw-forwarder.ts <immediate|batch> [--echo]
// immediate: each frame is sent on at once. batch: a room's frames of one event-loop turn are
// concatenated and sent once per receiver (the receivers' own frames left out), as a relay that
// batches per turn would. --echo also sends each frame back to its sender (the y-webrtc
// signaling server's semantics), and answers a y-webrtc ping with a pong to its sender alone, as
// the signaling servers do: echoing it to the whole path would make the floor do ten times their
// work per ping. Prints `listening <port>`.
import { WebSocketServer, type RawData, type WebSocket } from 'ws'

const mode = process.argv[2] === 'batch' ? 'batch' : 'immediate'
const echo = process.argv.includes('--echo')
const PING = Buffer.from('{"type":"ping"}')
const PONG = Buffer.from('{"type":"pong"}')

interface Room {
  sockets: Set<WebSocket>
  pending: { from: WebSocket; frame: Buffer }[]
  scheduled: boolean
}
const rooms = new Map<string, Room>()
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })

function flush(room: Room): void {
  room.scheduled = false
  const pending = room.pending
  room.pending = []
  const all = Buffer.concat(pending.map((p) => p.frame))
  const senders = new Set(pending.map((p) => p.from))
  for (const socket of room.sockets) {
    if (echo || !senders.has(socket)) socket.send(all)
    else if (senders.size > 1) {
      socket.send(Buffer.concat(pending.filter((p) => p.from !== socket).map((p) => p.frame)))
    }
  }
}

wss.on('connection', (socket, request) => {
  const path = request.url ?? '/'
  let room = rooms.get(path)
  if (!room) {
    room = { sockets: new Set(), pending: [], scheduled: false }
    rooms.set(path, room)
  }
  const joined = room
  joined.sockets.add(socket)
  socket.on('message', (data: RawData, isBinary: boolean) => {
    const frame = data as Buffer
    if (echo && frame.equals(PING)) {
      socket.send(PONG, { binary: false })
      return
    }
    if (mode === 'immediate') {
      for (const other of joined.sockets) {
        if (echo || other !== socket) other.send(frame, { binary: isBinary })
      }
      return
    }
    joined.pending.push({ from: socket, frame })
    if (!joined.scheduled) {
      joined.scheduled = true
      setImmediate(() => flush(joined))
    }
  })
  socket.on('close', () => {
    joined.sockets.delete(socket)
    if (joined.sockets.size === 0) rooms.delete(path)
  })
})
wss.on('listening', () => {
  const address = wss.address()
  console.log(`listening ${typeof address === 'object' && address ? address.port : address}`)
})
