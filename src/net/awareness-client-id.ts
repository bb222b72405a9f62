// y-protocols' Awareness takes its client id from the document when it is created, but Parley
// settles the document's id only once local data is loaded (it may reuse this browser's id for
// the room: client-id-lease.ts), after the links and their awareness exist. Providers speak
// for the document's id (y-webrtc encodes `awareness.meta.get(doc.clientID)` on connect), so
// before a link connects its awareness takes that id, with an empty state until presence is
// published again (presence is sealed to the client id, so the old state cannot be carried).
import type { Awareness } from 'y-protocols/awareness'

export function adoptDocClientId(awareness: Awareness): void {
  const id = awareness.doc.clientID
  if (awareness.clientID === id) return
  awareness.setLocalState(null)
  awareness.clientID = id
  awareness.setLocalState({})
}
