// Time labels never throw: a stamp's wall time is whatever a peer wrote, up to 2^53, and
// Date/Intl throw RangeError past ±8.64e15 ms (this took the message list down).
import { describe, expect, it } from 'vitest'
import { dayKey, dayLabel, isoTime, timeLabel } from '../../src/ui/time-labels'

describe('time labels', () => {
  it('label any wall time a record can carry without throwing', () => {
    for (const wall of [0, 1_700_000_000_000, 8.64e15, 8.64e15 + 1, 2 ** 53 - 1]) {
      expect(() => [timeLabel(wall), isoTime(wall), dayKey(wall), dayLabel(wall)]).not.toThrow()
    }
    expect(() => new Intl.DateTimeFormat().format(2 ** 53 - 1)).toThrow(RangeError)
  })

  it('name real times and mark impossible ones', () => {
    expect(isoTime(0)).toBe('1970-01-01T00:00:00.000Z')
    expect(timeLabel(1_700_000_000_000)).toMatch(/\d/)
    expect(isoTime(2 ** 53 - 1)).toBe('')
    expect(timeLabel(2 ** 53 - 1)).toBe('')
    expect(dayLabel(2 ** 53 - 1)).toBe('Unknown date')
    expect(dayKey(2 ** 53 - 1)).toBe(dayKey(8.64e15 + 1))
  })
})
