// A hostile member's replica, run in a test namespace: stock y-websocket clients holding the
// room's secret (so the relay token and the content key), as any link holder could. Usage:
//   node --import tsx presence-impostor.ts impostor <relay ws url> <secret> <victim key id>
//     Watches the relay's presence for the victim's state; once the victim has left, publishes
//     forged presence claiming the victim (the previous unsigned format with their key id and
//     name; a signed state with their key id and public key but another key's signature; the
//     victim's own captured state re-sealed under another client id) and an honestly signed
//     state of a key with no member record, each acknowledging every write in the room. They
//     are published again whenever the room changes. Prints "impostor published".
//   node --import tsx presence-impostor.ts members <relay ws url> <secret>
//     Prints the member key ids the relay holds for the room as JSON, then exits.
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import {
  deriveRoomKeys,
  fromBase64Url,
  generateSigningIdentity,
  openEnvelope,
  sealEnvelope,
  toBase64Url,
  utf8,
  type RoomKeys,
} from '../../../src/crypto'
import { RoomDocument } from '../../../src/model'
import { signPresence } from '../../../src/session/presence-state'

const [mode, url, secret, victimKeyId] = process.argv.slice(2)
const keys = await deriveRoomKeys(secret)

function connect(doc: Y.Doc): WebsocketProvider {
  return new WebsocketProvider(url, keys.roomId, doc, {
    params: { token: keys.relayToken },
    disableBc: true,
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
  })
}

async function seal(roomKeys: RoomKeys, clientId: number, plain: string): Promise<{ e: string }> {
  const sealed = await sealEnvelope(
    roomKeys.contentKey,
    'presence',
    String(clientId),
    utf8.encode(plain),
  )
  return { e: toBase64Url(sealed) }
}

if (mode === 'members') {
  const doc = new Y.Doc()
  const provider = connect(doc)
  provider.once('sync', () => {
    console.log(JSON.stringify(new RoomDocument(doc).idsOf('members')))
    provider.destroy()
    process.exit(0)
  })
} else {
  // Before any socket opens: states that arrive while this awaits must not be missed.
  const mallory = await generateSigningIdentity()
  const doc = new Y.Doc()
  const watcher = connect(doc)
  const forgers = [0, 1, 2, 3].map(() => connect(new Y.Doc()))
  let captured: { clientId: number; plain: string } | undefined
  let published = false

  /** Every write in the room, acknowledged far beyond what exists. */
  const seenAll = (): Record<string, number> => {
    const seen: Record<string, number> = {}
    for (const client of Y.decodeStateVector(Y.encodeStateVector(doc)).keys())
      seen[String(client)] = 2 ** 40
    return seen
  }

  const publish = async (): Promise<void> => {
    const victim = new RoomDocument(doc).member(victimKeyId)
    if (!captured || !victim?.ok) throw new Error('the victim was never seen in the room')
    const seen = seenAll()
    const [legacy, forged, replay, stranger] = forgers.map((f) => f.awareness)
    // 1. The format Parley accepted before presence was signed: key id and name in clear.
    legacy.setLocalState(
      await seal(
        keys,
        legacy.clientID,
        JSON.stringify({ v: 1, keyId: victimKeyId, name: 'Bob', seen }),
      ),
    )
    // 2. Signed, claiming the victim's key id and public key, with Mallory's private key.
    const asVictim = {
      keyId: fromBase64Url(victimKeyId),
      publicKey: victim.value.publicKey,
      privateKey: mallory.privateKey,
    }
    const binding = (clientId: number) => ({ roomId: keys.roomId, clientId })
    forged.setLocalState(
      await seal(
        keys,
        forged.clientID,
        await signPresence(asVictim, binding(forged.clientID), { want: [], seen }, Date.now()),
      ),
    )
    // 3. The victim's own signed state, captured while they were here, under another client id.
    replay.setLocalState(await seal(keys, replay.clientID, captured.plain))
    // 4. An honest signature by a key that has no member record, with a name added.
    const named = { want: [], seen, name: 'Bob' } as {
      want: number[]
      seen: Record<string, number>
    }
    stranger.setLocalState(
      await seal(
        keys,
        stranger.clientID,
        await signPresence(mallory, binding(stranger.clientID), named, Date.now()),
      ),
    )
  }

  let publishing = Promise.resolve()
  const republish = (): void => {
    publishing = publishing.then(publish).then(
      () => {
        if (!published)
          console.log(
            `impostor published ${JSON.stringify(forgers.map((f) => f.awareness.clientID))}`,
          )
        published = true
      },
      (error: unknown) => console.error(`impostor: ${String(error)}`),
    )
  }

  watcher.awareness.on(
    'change',
    ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
      for (const clientId of [...added, ...updated]) {
        const e = (watcher.awareness.getStates().get(clientId) as { e?: unknown } | undefined)?.e
        if (typeof e !== 'string' || captured) continue
        void openEnvelope(keys.contentKey, 'presence', String(clientId), fromBase64Url(e))
          .then((bytes) => {
            const plain = utf8.decode(bytes)
            // Signed states carry the body as text in `s`; unsigned ones (v1) were the body.
            const outer = JSON.parse(plain) as { s?: unknown; keyId?: unknown }
            const body = (typeof outer.s === 'string' ? JSON.parse(outer.s) : outer) as {
              keyId?: unknown
            }
            if (body.keyId !== victimKeyId || captured) return
            captured = { clientId, plain }
            console.log('impostor saw the victim')
          })
          .catch(() => undefined) // not a state this script can read: someone else's
      }
      if (captured && removed.includes(captured.clientId) && !published) republish()
    },
  )
  doc.on('update', () => {
    if (published) republish()
  })
  process.on('SIGTERM', () => {
    for (const provider of [watcher, ...forgers]) provider.destroy()
    process.exit(0)
  })
}
