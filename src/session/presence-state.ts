// The presence state's wire format (docs/presence.md): what a tab says about itself, signed
// with its room signing key and bound to the room, the awareness client id and the time of
// signing. presence.ts seals it; parsing here checks the signature before any field is used.
import {
  fromBase64Url,
  keyIdOf,
  sign,
  toBase64Url,
  utf8,
  verify,
  type SigningIdentity,
} from '../crypto'
import type { SortKey } from '../model'
import { parseSortKey } from './read-position'

/** 2: signed, with no display name (names come from member records only). 1 was unsigned. */
export const PRESENCE_VERSION = 2
/** Domain label: a presence signature can never verify as a record's (model/records.ts). */
const SIGNING_LABEL = 'parley/v2/presence'
/** The signed body of an honest state is well under 2 KiB (64 wants + 64 clocks); anything
 * larger is refused before JSON.parse. */
const MAX_BODY_CHARS = 8192
/** Writer client ids one state may ask about or acknowledge: a person has a handful. */
const MAX_CLIENT_IDS = 64
const MAX_ID_CHARS = 64
/** A state vector of this many base64url characters holds ~250 writer sessions: more than an
 * honest room's in a long while; a larger one is dropped (seen-by.ts, withheld.ts). */
export const MAX_HELD_CHARS = 2048

/** What a tab publishes about itself; the key id is its signing key's. */
export interface PresenceState {
  /** y-webrtc peer id of the tab, when it uses WebRTC. */
  readonly webrtcPeerId?: string
  /** Writer client ids this tab waits to hear acknowledged (delivery.ts). */
  readonly want?: readonly number[]
  /** For client ids others want: the highest Yjs clock this tab holds of each. */
  readonly seen?: Readonly<Record<string, number>>
  /** The person is writing a message in this tab (issue 12 §3: in presence, never in the
   * document). */
  readonly typing?: boolean
  /** The newest message this person has read here (issue 12 §8, "Seen by"); absent when they
   * turned sharing it off. */
  readonly read?: SortKey
  /** What this tab holds of the room: its Yjs state vector, base64url (withheld.ts). */
  readonly held?: string
}

/** A state whose signature verified: the key id is the hash of the key that signed it. */
export interface SignedPresence extends PresenceState {
  readonly keyId: string
  readonly publicKey: Uint8Array
  /** The signer's wall clock when it signed (ms), for freshness (presence.ts). */
  readonly signedAt: number
}

interface Binding {
  readonly roomId: string
  readonly clientId: number
}

/** Label, room, client id, then the body: none of the first three can hold a newline. */
function signingBytes(binding: Binding, body: string): Uint8Array {
  return utf8.encode(`${SIGNING_LABEL}\n${binding.roomId}\n${binding.clientId}\n${body}`)
}

/** The plaintext to seal: `{ v, s: body JSON, sig }`, signed over the exact body text. */
export async function signPresence(
  identity: SigningIdentity,
  binding: Binding,
  state: PresenceState,
  signedAt: number,
): Promise<string> {
  const body = JSON.stringify({
    keyId: toBase64Url(identity.keyId),
    pk: toBase64Url(identity.publicKey),
    at: signedAt,
    ...state,
  })
  const signature = await sign(identity, signingBytes(binding, body))
  return JSON.stringify({ v: PRESENCE_VERSION, s: body, sig: toBase64Url(signature) })
}

/** The verified state, or undefined for anything else: another version, a bad shape, a key id
 * that is not the key's hash, a signature that is not by that key over this room and client. */
export async function verifyPresence(
  binding: Binding,
  plain: string,
): Promise<SignedPresence | undefined> {
  const outer = parseObject(plain, MAX_BODY_CHARS * 2)
  if (!outer || outer.v !== PRESENCE_VERSION) return undefined
  const { s: body, sig } = outer
  if (typeof body !== 'string' || typeof sig !== 'string') return undefined
  const v = parseObject(body, MAX_BODY_CHARS)
  if (!v || typeof v.keyId !== 'string' || typeof v.pk !== 'string') return undefined
  if (!Number.isSafeInteger(v.at)) return undefined
  let publicKey: Uint8Array
  let signature: Uint8Array
  try {
    publicKey = fromBase64Url(v.pk)
    signature = fromBase64Url(sig)
  } catch {
    return undefined
  }
  if (toBase64Url(await keyIdOf(publicKey)) !== v.keyId) return undefined
  if (!(await verify(publicKey, signature, signingBytes(binding, body)))) return undefined
  return {
    keyId: v.keyId,
    publicKey,
    signedAt: v.at as number,
    webrtcPeerId:
      typeof v.webrtcPeerId === 'string' ? v.webrtcPeerId.slice(0, MAX_ID_CHARS) : undefined,
    want: Array.isArray(v.want)
      ? v.want.filter((n): n is number => Number.isSafeInteger(n)).slice(0, MAX_CLIENT_IDS)
      : undefined,
    seen: parseClocks(v.seen),
    typing: v.typing === true ? true : undefined,
    read: parseSortKey(v.read),
    held:
      typeof v.held === 'string' && v.held.length <= MAX_HELD_CHARS && /^[\w-]*$/.test(v.held)
        ? v.held
        : undefined,
  }
}

function parseObject(text: string, maxChars: number): Record<string, unknown> | undefined {
  if (text.length > maxChars) return undefined
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

function parseClocks(value: unknown): Record<string, number> | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const seen: Record<string, number> = {}
  let count = 0
  for (const [client, clock] of Object.entries(value as Record<string, unknown>)) {
    if (count >= MAX_CLIENT_IDS) break
    if (!/^\d{1,16}$/.test(client) || !Number.isSafeInteger(clock)) continue
    seen[client] = clock as number
    count++
  }
  return seen
}
