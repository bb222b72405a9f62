// Hocuspocus 3 as a benchmark peer: default configuration, in-memory (no persistence
// extension), on a loopback port. Prints `listening <port>`.
import { Server } from '@hocuspocus/server'

const server = new Server({ port: 0, address: '127.0.0.1', quiet: true, stopOnSignals: true })
await server.listen()
console.log(`listening ${server.address.port}`)
