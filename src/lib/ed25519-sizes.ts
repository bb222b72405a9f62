// The sizes of an Ed25519 identity as Parley uses it, defined once for the layers that both
// need them: crypto (which makes and checks keys and signatures) and model (whose record
// formats carry them, docs/document-model.md).
/** A key id: 128 bits of SHA-256 of the public key, enough that nobody can make a second key
 * with someone's key id (docs/presence.md). */
export const KEY_ID_BYTES = 16
export const PUBLIC_KEY_BYTES = 32
export const SIGNATURE_BYTES = 64
