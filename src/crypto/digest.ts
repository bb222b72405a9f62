// SHA-256 of a record, as a v2 tombstone names the message it deletes (docs/document-model.md).
import { ownBytes, subtle } from './webcrypto'

export async function sha256(bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await subtle().digest('SHA-256', ownBytes(bytes)))
}
