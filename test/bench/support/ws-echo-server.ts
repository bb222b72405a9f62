// The relay path's floor for the message-latency benchmark: a `ws` server that sends every frame
// straight back to its sender, knowing nothing of Yjs. Started inside the server's network
// namespace (so 0.0.0.0 there reaches only the benchmark's own topology); prints
// `listening <port>`.
//   node --import tsx test/bench/support/ws-echo-server.ts
import { WebSocketServer } from 'ws'

const wss = new WebSocketServer({ host: '0.0.0.0', port: 0, perMessageDeflate: false })
wss.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }))
})
wss.on('listening', () => {
  const address = wss.address()
  console.log(`listening ${typeof address === 'object' && address ? address.port : address}`)
})
