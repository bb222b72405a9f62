// Keeps each link's awareness speaking for the document's Yjs client id. y-protocols' Awareness
// takes its id from the document when it is created, and providers speak for `doc.clientID`
// (y-webrtc and y-websocket encode `awareness.meta.get(doc.clientID)` on (re)connect, which
// throws if the awareness never had that id). The id changes after the links exist: LocalStore
// settles it once local data is loaded and retires it at pagehide (docs/local-storage.md), and
// Yjs replaces it when a peer shows it in use elsewhere. The awareness then takes the new id
// with an empty state until presence is published again (presence is sealed to the client id,
// so the old state cannot be carried).
import type * as Y from 'yjs'
import type { Awareness } from 'y-protocols/awareness'

export function adoptDocClientId(awareness: Awareness): void {
  const id = awareness.doc.clientID
  if (awareness.clientID === id) return
  awareness.setLocalState(null)
  awareness.clientID = id
  awareness.setLocalState({})
}

/**
 * From now on, whenever `doc.clientID` changes, every awareness in `awarenesses` adopts it and
 * then `changed` is called (to publish presence again). Yjs changes the id only inside a
 * transaction (LocalStore changes it in one too), so each transaction's end is checked.
 * Returns a function that stops following.
 */
export function followDocClientId(
  doc: Y.Doc,
  awarenesses: readonly Awareness[],
  changed: () => void,
): () => void {
  const check = (): void => {
    if (awarenesses.every((awareness) => awareness.clientID === doc.clientID)) return
    for (const awareness of awarenesses) adoptDocClientId(awareness)
    changed()
  }
  doc.on('afterTransactionCleanup', check)
  return () => doc.off('afterTransactionCleanup', check)
}
