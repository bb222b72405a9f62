// What the app needs to know of a room link and of the servers before it opens a session: the
// link's secret (docs/architecture.md "The room link and its keys") and when a changed server config means a
// room must reconnect. The UI reaches crypto and net only through here and RoomSession
// (docs/architecture.md "Layers").
export { isRoomSecret, newRoomSecret } from '../crypto'
export { sameNetwork, type NetworkConfig } from '../net/server-config'
export type { RelayRefusal } from '../net/relay-link'
