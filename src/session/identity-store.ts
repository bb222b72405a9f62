// This browser's signing identity, kept in IndexedDB as a non-extractable CryptoKey (docs/architecture.md),
// created on first use. Two tabs racing to create it settle on whichever was stored first.
import { generateSigningIdentity, identityFromKeys, type SigningIdentity } from '../crypto'

const DATABASE = 'parley-identity'
const STORE = 'keys'
const SELF = 'self'

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

export async function loadOrCreateIdentity(
  factory: IDBFactory = indexedDB,
): Promise<SigningIdentity> {
  const db = await openDatabase(factory)
  try {
    const existing: unknown = await request(db.transaction(STORE).objectStore(STORE).get(SELF))
    if (isStoredIdentity(existing)) return identityFromKeys(existing.privateKey, existing.publicKey)
    const created = await generateSigningIdentity()
    const stored: StoredIdentity = { privateKey: created.privateKey, publicKey: created.publicKey }
    const tx = db.transaction(STORE, 'readwrite')
    const store = tx.objectStore(STORE)
    // `add` fails if another tab stored an identity in the meantime: then use that one.
    const raced: unknown = await request(store.get(SELF))
    if (isStoredIdentity(raced)) return identityFromKeys(raced.privateKey, raced.publicKey)
    await request(store.add(stored, SELF))
    return created
  } finally {
    db.close()
  }
}
