// The words for who is typing (src/ui/room-state.ts typingOf).
import { expect, test } from 'vitest'
import type { RoomSession } from '../../src/session/room-session'
import { typingOf } from '../../src/ui/room-state'

const sessionTyping = (...names: (string | null)[]) =>
  ({
    presence: { typists: () => names.map((name, i) => ({ keyId: `k${i}`, name })) },
  }) as unknown as RoomSession

test('one, two, or several typists', () => {
  expect(typingOf(sessionTyping())).toBe('')
  expect(typingOf(sessionTyping('Ann'))).toBe('Ann is typing…')
  expect(typingOf(sessionTyping('Ann', 'Ben'))).toBe('Ann and Ben are typing…')
  expect(typingOf(sessionTyping('Ann', 'Ben', 'Cat'))).toBe('Several people are typing…')
  expect(typingOf(sessionTyping(null))).toBe('(name cannot be read) is typing…')
})
