// How many WebSockets each client address holds open, across `/signal` and `/relay`, so one host
// cannot tie up the server's sockets and memory. An IPv6 client counts per /64: a subscriber
// usually gets a whole /64 and can use any address in it.

import { isIPv4, isIPv6 } from 'node:net'
import type { Duplex } from 'node:stream'

export class IpConnectionLimit {
  private readonly open = new Map<string, number>()

  constructor(readonly maxPerAddress: number) {}

  /** Connections `address` holds right now. */
  count(address: string): number {
    return this.open.get(addressKey(address)) ?? 0
  }

  /**
   * Counts one more connection for `address` until `socket` closes; false (and not counted)
   * when the address already holds the maximum.
   */
  admit(address: string, socket: Duplex): boolean {
    const key = addressKey(address)
    const count = this.open.get(key) ?? 0
    if (count >= this.maxPerAddress) return false
    this.open.set(key, count + 1)
    let released = false
    socket.once('close', () => {
      if (released) return
      released = true
      const left = (this.open.get(key) ?? 1) - 1
      // Addresses with nothing open are dropped so the map does not grow without bound.
      if (left <= 0) this.open.delete(key)
      else this.open.set(key, left)
    })
    return true
  }
}

/** IPv4 as is (also when IPv4-mapped); IPv6 as its /64 prefix; anything else as is. */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped && isIPv4(mapped[1])) return mapped[1]
  if (!isIPv6(address)) return address
  return `${expandIPv6(address).slice(0, 4).join(':')}::/64`
}

/** The eight 16-bit groups of an IPv6 address (zone id dropped), without `::` shorthand. */
function expandIPv6(address: string): string[] {
  const bare = address.split('%')[0]
  const [head, tail] = bare.includes('::') ? bare.split('::') : [bare, undefined]
  const groups = (part: string | undefined) => (part ? part.split(':') : [])
  const left = groups(head)
  const right = groups(tail)
  // An embedded IPv4 tail (a.b.c.d) fills two groups.
  const width = (parts: string[]) => parts.reduce((n, p) => n + (p.includes('.') ? 2 : 1), 0)
  const missing = tail === undefined ? 0 : 8 - width(left) - width(right)
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((group) =>
    group.includes('.') ? group : group.toLowerCase().replace(/^0+(?=.)/, ''),
  )
}
