// Redis stream ids (`<ms>-<seq>`), the Redis store's cursors: parsed, compared and stepped as
// bigints, since `seq` is a 64-bit counter.

export type StreamId = readonly [ms: bigint, seq: bigint]

const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/

export function parseStreamId(text: string): StreamId | null {
  const match = STREAM_ID.exec(text)
  return match ? [BigInt(match[1]), BigInt(match[2])] : null
}

export function compareStreamIds(a: StreamId, b: StreamId): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1
  return 0
}

/** `a > b` for ids as text; an unparseable id counts as the smallest. */
export function isAfter(a: string, b: string): boolean {
  const left = parseStreamId(a)
  const right = parseStreamId(b)
  if (!left) return false
  if (!right) return true
  return compareStreamIds(left, right) > 0
}

/** The smallest id after `id` (XTRIM MINID keeps ids >= its argument). */
export function nextStreamId(id: StreamId): string {
  return `${id[0]}-${id[1] + 1n}`
}
