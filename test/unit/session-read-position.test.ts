// The read position (src/session/read-position.ts): only moves forward, survives a new session
// through storage, forgets on leave, and takes nothing from storage it cannot check.
import { describe, expect, test } from 'vitest'
import { ReadPosition } from '../../src/session/read-position'

class MemoryStorage implements Storage {
  private readonly items = new Map<string, string>()
  get length() {
    return this.items.size
  }
  clear() {
    this.items.clear()
  }
  getItem(key: string) {
    return this.items.get(key) ?? null
  }
  key(index: number) {
    return [...this.items.keys()][index] ?? null
  }
  removeItem(key: string) {
    this.items.delete(key)
  }
  setItem(key: string, value: string) {
    this.items.set(key, value)
  }
}

const ROOM = 'r'.repeat(43)
const AUTHOR = 'A'.repeat(22)
const key = (wall: number, id = 'm'.repeat(22)) => ({ wall, counter: 0, author: AUTHOR, id })

describe('ReadPosition', () => {
  test('moves forward only, and a new session starts where the last one was', () => {
    const storage = new MemoryStorage()
    const read = new ReadPosition(ROOM, storage)
    expect(read.get()).toBeUndefined()
    expect(read.isUnread(key(1))).toBe(true)
    read.markRead(key(200))
    read.markRead(key(100)) // reading older messages unreads nothing
    expect(read.get()?.wall).toBe(200)
    expect(read.isUnread(key(150))).toBe(false)
    expect(read.isUnread(key(201))).toBe(true)
    expect(new ReadPosition(ROOM, storage).get()?.wall).toBe(200)
  })

  test('leaving forgets it', () => {
    const storage = new MemoryStorage()
    const read = new ReadPosition(ROOM, storage)
    read.markRead(key(5))
    read.clear()
    expect(new ReadPosition(ROOM, storage).get()).toBeUndefined()
  })

  test('a stored value it cannot check counts as never read', () => {
    const storage = new MemoryStorage()
    for (const bad of [
      '{',
      'null',
      '[]',
      JSON.stringify({ wall: 'x', counter: 0, author: AUTHOR, id: 'm'.repeat(22) }),
      JSON.stringify({ wall: 2 ** 60, counter: 0, author: AUTHOR, id: 'm'.repeat(22) }),
      JSON.stringify({ wall: 1, counter: 0, author: '<script>', id: 'm'.repeat(22) }),
      JSON.stringify({ wall: 1, counter: 0, author: AUTHOR, id: 'short' }),
    ]) {
      storage.setItem(`parley:read:${ROOM}`, bad)
      expect(new ReadPosition(ROOM, storage).get()).toBeUndefined()
    }
  })
})
