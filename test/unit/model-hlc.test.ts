import { describe, expect, it } from 'vitest'
import {
  FAR_FUTURE_MS,
  HybridClock,
  MAX_CLOCK_SKEW_MS,
  MAX_HLC_COUNTER,
  compareSortKeys,
  isFromTheFuture,
  stampAnomaly,
  type SortKey,
} from '../../src/model'

function clockAt(start: number) {
  let now = start
  const clock = new HybridClock(() => now)
  return { clock, set: (t: number) => (now = t) }
}

describe('HybridClock', () => {
  it('stamps with wall time and a counter for stamps in the same millisecond', () => {
    const { clock, set } = clockAt(1_000)
    expect(clock.next()).toEqual({ wall: 1_000, counter: 0 })
    expect(clock.next()).toEqual({ wall: 1_000, counter: 1 })
    set(1_005)
    expect(clock.next()).toEqual({ wall: 1_005, counter: 0 })
  })

  it('never goes backwards when the wall clock does', () => {
    const { clock, set } = clockAt(5_000)
    clock.next()
    set(4_000)
    expect(clock.next()).toEqual({ wall: 5_000, counter: 1 })
  })

  it('sorts a reply after what it answers even when the replier clock lags', () => {
    const { clock } = clockAt(10_000)
    clock.observe({ wall: 10_000 + 30_000, counter: 4 })
    const reply = clock.next()
    expect(reply).toEqual({ wall: 40_000, counter: 5 })
  })

  it('does not let a stamp beyond the skew bound drag the clock forward', () => {
    const { clock } = clockAt(10_000)
    const far = { wall: 10_000 + MAX_CLOCK_SKEW_MS + 1, counter: 0 }
    clock.observe(far)
    expect(clock.next()).toEqual({ wall: 10_000, counter: 0 })
    expect(isFromTheFuture(far, 10_000)).toBe(true)
    expect(isFromTheFuture({ wall: 10_000 + MAX_CLOCK_SKEW_MS, counter: 0 }, 10_000)).toBe(false)
  })

  it('keeps its counter in range: a hostile counter is ignored, a full one moves the wall', () => {
    const { clock } = clockAt(10_000)
    clock.observe({ wall: 10_000, counter: 2 ** 53 - 1 })
    expect(clock.next()).toEqual({ wall: 10_000, counter: 0 })
    clock.observe({ wall: 10_000, counter: MAX_HLC_COUNTER })
    expect(clock.next()).toEqual({ wall: 10_001, counter: 0 })
  })

  it('ignores older observed stamps', () => {
    const { clock } = clockAt(10_000)
    clock.observe({ wall: 3, counter: 9 })
    expect(clock.next()).toEqual({ wall: 10_000, counter: 0 })
  })
})

describe('stampAnomaly', () => {
  it('takes a day ahead as a drifting clock, beyond it or an absurd counter as an anomaly', () => {
    const now = 1_700_000_000_000
    expect(stampAnomaly({ wall: now + FAR_FUTURE_MS, counter: MAX_HLC_COUNTER }, now)).toBe(
      undefined,
    )
    expect(stampAnomaly({ wall: 0, counter: 0 }, now)).toBe(undefined)
    expect(stampAnomaly({ wall: now + FAR_FUTURE_MS + 1, counter: 0 }, now)).toMatch(/future/)
    expect(stampAnomaly({ wall: 2 ** 53 - 1, counter: 0 }, now)).toMatch(/future/)
    expect(stampAnomaly({ wall: now, counter: MAX_HLC_COUNTER + 1 }, now)).toMatch(/range/)
  })
})

describe('compareSortKeys', () => {
  const key = (wall: number, counter: number, author: string, id: string): SortKey => ({
    wall,
    counter,
    author,
    id,
  })

  it('orders by wall, then counter, then author, then id', () => {
    const keys = [
      key(2, 0, 'a', 'x'),
      key(1, 1, 'a', 'x'),
      key(1, 0, 'b', 'x'),
      key(1, 0, 'a', 'y'),
      key(1, 0, 'a', 'x'),
    ]
    const sorted = [...keys].sort(compareSortKeys)
    expect(sorted).toEqual([
      key(1, 0, 'a', 'x'),
      key(1, 0, 'a', 'y'),
      key(1, 0, 'b', 'x'),
      key(1, 1, 'a', 'x'),
      key(2, 0, 'a', 'x'),
    ])
  })

  it('is a total order: equal only for the same key', () => {
    expect(compareSortKeys(key(1, 0, 'a', 'x'), key(1, 0, 'a', 'x'))).toBe(0)
    expect(compareSortKeys(key(1, 0, 'a', 'x'), key(1, 0, 'a', 'z'))).toBeLessThan(0)
  })
})
