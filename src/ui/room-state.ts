// The room as the header and the people list show it: who is here and how each person is
// reached, and one connection summary. Built from the connections that exist — open data
// channels that pass packets, an open relay socket, signaling — never from `navigator.onLine`
// alone, which only picks the words when nothing is connected (docs/connection-state.md). And
// the room's words for who typed, read or holds what (docs/presence.md).
import type { SortKey } from '../model'
import type { RelayRefusal } from '../session/room-link'
import type { RoomSession } from '../session/room-session'

export type Reach =
  /** An open WebRTC data channel to this person's tab. */
  | 'direct'
  /** No data channel, but both of us are connected to the relay, which carries the room. */
  | 'relay'
  /** Another tab of this same browser. */
  | 'this-browser'
  /** Known from presence, but no data channel (yet). */
  | 'connecting'

export interface Person {
  readonly keyId: string
  readonly name: string
  readonly isMe: boolean
  readonly reach: Reach | 'me'
}

export interface ConnectionStatus {
  /** The browser says it has no network: a hint for the wording, never the state itself. */
  readonly browserOffline: boolean
  /** Connected to at least one signaling server. */
  readonly signaling: boolean
  /** Remote peers with an open data channel that passes packets. */
  readonly directPeers: number
  /** Other tabs of this browser in the same room. */
  readonly sameBrowserPeers: number
  /** People reached through the relay only. */
  readonly relayPeers: number
  /** The relay link: none configured, connecting, connected, or refused for good. */
  readonly relay: 'none' | 'connecting' | 'connected' | 'refused'
  /** Why the relay refused this room, when it did. */
  readonly relayRefusal: RelayRefusal | null
}

/** A verified member whose name does not decrypt with this room's key. */
const UNREADABLE_NAME = '(name cannot be read)'

const RANK: Record<Reach, number> = { direct: 3, relay: 2, 'this-browser': 1, connecting: 0 }

/** Everyone present, merged by author key id (several tabs of one person show once). */
export function peopleOf(session: RoomSession): Person[] {
  const { webrtc, relay, presence } = session
  const direct = new Set(webrtc.directPeerIds())
  const sameBrowser = new Set(webrtc.sameBrowserPeerIds())
  const viaRelay = new Set(presence.relay?.people().map((p) => p.webrtcPeerId) ?? [])
  const relayUp = relay?.connected() ?? false
  const byKey = new Map<string, Person>()
  // Signed presences of verified members only, named by their member records: nobody can show
  // up under another person's key id or name (docs/presence.md).
  for (const p of presence.present()) {
    if (p.keyId === session.myKeyId) continue
    const id = p.webrtcPeerId
    const reach: Reach =
      id && direct.has(id)
        ? 'direct'
        : id && sameBrowser.has(id)
          ? 'this-browser'
          : id && viaRelay.has(id) && relayUp
            ? 'relay'
            : 'connecting'
    const known = byKey.get(p.keyId)
    if (known && known.reach !== 'me' && RANK[known.reach] >= RANK[reach]) continue
    byKey.set(p.keyId, { keyId: p.keyId, name: p.name ?? UNREADABLE_NAME, isMe: false, reach })
  }
  const me: Person = { keyId: session.myKeyId, name: session.myName, isMe: true, reach: 'me' }
  return [me, ...[...byKey.values()].sort((a, b) => a.name.localeCompare(b.name))]
}

export function connectionOf(session: RoomSession): ConnectionStatus {
  const { webrtc, relay } = session
  return {
    browserOffline: typeof navigator !== 'undefined' && !navigator.onLine,
    signaling: webrtc.signalingConnected(),
    directPeers: webrtc.directPeerIds().length,
    sameBrowserPeers: webrtc.sameBrowserPeerIds().length,
    relayPeers: relay ? peopleOf(session).filter((p) => p.reach === 'relay').length : 0,
    relay: !relay
      ? 'none'
      : relay.refused()
        ? 'refused'
        : relay.connected()
          ? 'connected'
          : 'connecting',
    relayRefusal: relay?.refused() ?? null,
  }
}

/** Who is typing, in words (issue 12 §3), or '' when nobody is. Names come from member records
 * only, as in the people list. */
export function typingOf(session: RoomSession): string {
  const names = session.presence.typists().map((p) => p.name ?? UNREADABLE_NAME)
  if (names.length === 0) return ''
  if (names.length === 1) return `${names[0]} is typing…`
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`
  return 'Several people are typing…'
}

/** The quiet line under the header when the inbound guard dropped updates from the network
 * (docs/document-model.md): nothing was harmed, so it informs rather than alarms. Null: none. */
export function ignoredChangesText(
  session: Pick<RoomSession, 'refusedNetworkUpdates'>,
): string | null {
  const count = session.refusedNetworkUpdates
  if (count === 0) return null
  return `Ignored ${count} invalid ${count === 1 ? 'change' : 'changes'} from the network. The room is not affected.`
}

/** Names in a sentence: "A", "A and B", "A, B and C", "A, B and 3 others". */
export function namesInWords(names: readonly string[], shown = 3): string {
  if (names.length <= 1) return names[0] ?? ''
  if (names.length <= shown)
    return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`
  const rest = names.length - (shown - 1)
  return `${names.slice(0, shown - 1).join(', ')} and ${rest} others`
}

/** "Seen by …" for a message of ours (issue 12 §8), or null when no other member has said
 * they read it. Names come from member records only. */
export function seenByText(session: RoomSession, key: SortKey): string | null {
  const names = session.seenBy
    .readers(key)
    .filter((keyId) => keyId !== session.myKeyId)
    .map((keyId) => session.members.get(keyId)?.name ?? UNREADABLE_NAME)
  return names.length === 0 ? null : `Seen by ${namesInWords(names)}`
}

/** Says who holds messages that do not reach us (issue 12 §8), or null. */
export function withheldText(session: RoomSession): string | null {
  const names = session.withheld
    .withheldBy()
    .map((keyId) => session.members.get(keyId)?.name ?? UNREADABLE_NAME)
  if (names.length === 0) return null
  const verb = names.length === 1 ? 'has' : 'have'
  return `${namesInWords(names)} ${verb} messages you have not received. Something between you is holding them back; they arrive once a connection passes them on.`
}

/** How long a room just opened waits for the relay's sync before what arrives counts as new:
 * the relay answers within a second on a working network; offline, or with WebRTC only, this
 * bounds the wait. */
export const SETTLE_MS = 3000

/** Resolves once the room has caught up since it opened: its store loaded and the relay
 * synced, or SETTLE_MS passed. Until then what arrives was written while the reader was away
 * (the message list does not mark it read; the announcer does not read it out). */
export async function roomCaughtUp(session: RoomSession): Promise<void> {
  await session.loaded.catch(() => {})
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer)
      unsubscribe()
      resolve()
    }
    const timer = setTimeout(done, SETTLE_MS)
    const unsubscribe = session.changed.subscribe(() => {
      if (session.relay?.connected()) done()
    })
    if (!session.relay || session.relay.connected()) done()
  })
}
