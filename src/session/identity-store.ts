// This browser's signing keys, one per room (docs/presence.md, "A key per room"): kept in
// IndexedDB as non-extractable CryptoKeys under the room id, created on first use, deleted when
// the room is left. Two tabs racing to create a room's key settle on whichever was stored first.
import { generateSigningIdentity, identityFromKeys, type SigningIdentity } from '../crypto'

const DATABASE = 'parley-identity'
const STORE = 'keys'
/** Room keys are stored as `room:<room id>`. Before keys were per room, one key was kept
 * under `self` and used in every room; it is no longer read (docs/presence.md, "Migration"). */
const ROOM_KEY_PREFIX = 'room:'

/** Where a session gets its room's signing key, and how it forgets it when the room is left. */
export interface RoomIdentities {
  forRoom(roomId: string): Promise<SigningIdentity>
  forget(roomId: string): Promise<void>
}

interface StoredIdentity {
  privateKey: CryptoKey
  publicKey: Uint8Array
}

function isStoredIdentity(value: unknown): value is StoredIdentity {
  if (typeof value !== 'object' || value === null) return false
  const record = value as Record<string, unknown>
  return record.privateKey instanceof CryptoKey && record.publicKey instanceof Uint8Array
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'))
  })
}

function openDatabase(factory: IDBFactory): Promise<IDBDatabase> {
  const open = factory.open(DATABASE, 1)
  open.onupgradeneeded = () => open.result.createObjectStore(STORE)
  return request(open)
}

/** The signing key this browser uses in one room, created the first time the room is opened. */
export async function loadOrCreateRoomIdentity(
  roomId: string,
  factory: IDBFactory = indexedDB,
): Promise<SigningIdentity> {
  const key = ROOM_KEY_PREFIX + roomId
  const db = await openDatabase(factory)
  try {
    const existing: unknown = await request(db.transaction(STORE).objectStore(STORE).get(key))
    if (isStoredIdentity(existing)) return identityFromKeys(existing.privateKey, existing.publicKey)
    const created = await generateSigningIdentity()
    const stored: StoredIdentity = { privateKey: created.privateKey, publicKey: created.publicKey }
    const tx = db.transaction(STORE, 'readwrite')
    const store = tx.objectStore(STORE)
    // `add` fails if another tab stored a key in the meantime: then use that one.
    const raced: unknown = await request(store.get(key))
    if (isStoredIdentity(raced)) return identityFromKeys(raced.privateKey, raced.publicKey)
    await request(store.add(stored, key))
    return created
  } finally {
    db.close()
  }
}

/** Deletes a room's signing key (leaving the room): opening it again makes a new one. */
export async function forgetRoomIdentity(
  roomId: string,
  factory: IDBFactory = indexedDB,
): Promise<void> {
  const db = await openDatabase(factory)
  try {
    const tx = db.transaction(STORE, 'readwrite')
    await request(tx.objectStore(STORE).delete(ROOM_KEY_PREFIX + roomId))
  } finally {
    db.close()
  }
}

/** This browser's room keys, in its IndexedDB. */
export const browserRoomIdentities: RoomIdentities = {
  forRoom: (roomId) => loadOrCreateRoomIdentity(roomId),
  forget: (roomId) => forgetRoomIdentity(roomId),
}
