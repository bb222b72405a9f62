// A tiny HTTP server for harness tests, run inside a namespace with `node --import tsx`.
// It serves a blank test page and `/whoami` (the source address it sees), and prints
// `listening http://HOST:PORT` once bound so NetnsHost.startNode can read the port back.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
  },
})

const TEST_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <link rel="icon" href="data:," />
    <title>parley e2e fixture</title>
  </head>
  <body><p id="ready">fixture page</p></body>
</html>
`

const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://fixture').pathname
  if (path === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    res.end(TEST_PAGE)
    return
  }
  if (path === '/whoami') {
    const body = JSON.stringify({ address: req.socket.remoteAddress, port: req.socket.remotePort })
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    res.end(body)
    return
  }
  res.writeHead(404, { 'content-type': 'text/plain' })
  res.end('not found')
})

server.listen(Number(values.port), values.host, () => {
  const { address, port } = server.address() as AddressInfo
  console.log(`listening http://${address}:${port}`)
})

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.closeAllConnections()
    server.close(() => process.exit(0))
  })
}
