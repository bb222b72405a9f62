// Preloaded (`node --import`) into the stock servers, which listen on every interface when given
// only a port: benchmarks stay on loopback (TESTING.md "Benchmarks").
import net from 'node:net'

const listen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    const [port, ...rest] = args
    const host = typeof rest[0] === 'string' ? rest.shift() : '127.0.0.1'
    return listen.call(this, Number(port), host, ...rest)
  }
  return listen.apply(this, args)
}
