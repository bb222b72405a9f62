// Public API of src/crypto: room keys from the link's secret, content envelopes, signing
// identities and the byte encodings they share. WebCrypto only; other folders import from here.

export { fromBase64Url, toBase64Url, utf8 } from './base64url'
export {
  ENVELOPE_VERSION,
  EnvelopeError,
  openEnvelope,
  sealEnvelope,
  type EnvelopeErrorReason,
  type EnvelopePurpose,
} from './envelope'
export {
  KEY_ID_BYTES,
  bytesEqual,
  generateSigningIdentity,
  identityFromKeys,
  keyIdOf,
  sign,
  verify,
  type SigningIdentity,
} from './identity'
export {
  ROOM_SECRET_BYTES,
  deriveRoomKeys,
  isRoomId,
  isRoomSecret,
  newRoomSecret,
  roomIdFromRelayToken,
  type RoomKeys,
} from './room-keys'
export { sha256 } from './digest'
