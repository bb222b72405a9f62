// IP addresses as text (what a UDP socket reports) and as bytes (what XOR-MAPPED-ADDRESS
// carries). Node validates address text but does not convert it, so this module does only
// that, and returns null for anything it cannot read exactly.

import { isIPv4, isIPv6 } from 'node:net'

export type IpFamily = 'IPv4' | 'IPv6'

export interface IpBytes {
  family: IpFamily
  /** 4 bytes for IPv4, 16 for IPv6, network order. */
  bytes: Uint8Array
}

/**
 * Parses `1.2.3.4`, `2001:db8::1`, `fe80::1%eth0` (the zone is dropped: it never crosses the
 * wire). An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, how a dual-stack socket reports an
 * IPv4 peer) comes back as the IPv4 address it maps, so the peer learns the address it has.
 */
export function parseIpAddress(text: string): IpBytes | null {
  if (isIPv4(text)) return { family: 'IPv4', bytes: parseIPv4(text) }
  const zone = text.indexOf('%')
  const bare = zone === -1 ? text : text.slice(0, zone)
  if (!isIPv6(bare)) return null
  const bytes = parseIPv6(bare)
  if (bytes === null) return null
  const mapped =
    bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff
  return mapped ? { family: 'IPv4', bytes: bytes.slice(12) } : { family: 'IPv6', bytes }
}

/** Text form of 4 or 16 address bytes (IPv6 in the RFC 5952 canonical form); else null. */
export function formatIpAddress(bytes: Uint8Array): string | null {
  if (bytes.length === 4) return Array.from(bytes).join('.')
  if (bytes.length !== 16) return null
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i] << 8) | bytes[2 * i + 1])
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first if tied.
  let bestStart = -1
  let bestLength = 1
  for (let start = 0; start < 8;) {
    if (groups[start] !== 0) {
      start++
      continue
    }
    let end = start
    while (end < 8 && groups[end] === 0) end++
    if (end - start > bestLength) {
      bestStart = start
      bestLength = end - start
    }
    start = end
  }
  const hex = (part: number[]) => part.map((g) => g.toString(16)).join(':')
  if (bestStart === -1) return hex(groups)
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`
}

function parseIPv4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.'), Number)
}

/** `text` has passed isIPv6, so only the layout is left to read. */
function parseIPv6(text: string): Uint8Array | null {
  const halves = text.split('::')
  if (halves.length > 2) return null
  const groupsOf = (part: string): number[] | null => {
    if (part === '') return []
    const groups: number[] = []
    const pieces = part.split(':')
    for (const [index, piece] of pieces.entries()) {
      if (piece.includes('.')) {
        // An embedded IPv4 address may only end the address.
        if (index !== pieces.length - 1 || !isIPv4(piece)) return null
        const [a, b, c, d] = parseIPv4(piece)
        groups.push((a << 8) | b, (c << 8) | d)
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null
        groups.push(Number.parseInt(piece, 16))
      }
    }
    return groups
  }
  const head = groupsOf(halves[0])
  const tail = halves.length === 2 ? groupsOf(halves[1]) : []
  if (head === null || tail === null) return null
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail]
  const bytes = new Uint8Array(16)
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8
    bytes[2 * i + 1] = group & 0xff
  })
  return bytes
}
