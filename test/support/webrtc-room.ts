// A y-webrtc room for an integration test: our signaling server on port 0, one process per peer
// (webrtc-peer-process.ts), and joins in an order that avoids y-webrtc's offer glare.
//
// Glare: when two peers announce at the same moment, both send offers; y-webrtc 10.3.0 then
// sometimes ends with one side waiting for an answer and the other for an offer, forever (1 of
// 5 and 1 of 20 runs when two peers started together here). So a room lets each peer in only
// after the previous ones are settled: the first once its announce reached the server, later
// ones once their data channels to everyone before them are open.

import { startTestServer, type TestServer } from './server-harness'
import { TestSignalClient } from './server-signal-client'
import { PeerProcess } from './webrtc-peer-process'

// Loopback connections open in well under a second; these only bound a broken run.
export const CONNECT_TIMEOUT_MS = 20_000

export class WebrtcTestRoom {
  readonly peers: PeerProcess[] = []
  private joined = 0

  private constructor(
    private readonly server: TestServer,
    /** Subscribed to the room's topic: sees the first peer's announce arrive. */
    private readonly watcher: TestSignalClient,
    readonly signalingUrl: string,
    readonly name: string,
    readonly password: string,
  ) {}

  static async open(name: string): Promise<WebrtcTestRoom> {
    const server = await startTestServer()
    const signalingUrl = server.wsUrl('/signal')
    const watcher = await TestSignalClient.connect(signalingUrl)
    watcher.send({ type: 'subscribe', topics: [name] })
    await watcher.sync()
    return new WebrtcTestRoom(server, watcher, signalingUrl, name, `password for ${name}`)
  }

  /** A peer process, stopped by close(). See webrtc-peer.ts for `env`. */
  startPeer(name: string, env: Record<string, string> = {}): PeerProcess {
    const peer = PeerProcess.start(name, env)
    this.peers.push(peer)
    return peer
  }

  /** Connects `peer` and waits until it is connected to every peer that joined before it. */
  async join(peer: PeerProcess): Promise<void> {
    await this.connect(peer)
    if (this.joined === 0) {
      await this.watcher.next(CONNECT_TIMEOUT_MS)
    } else {
      await peer.waitForOpenChannels(this.joined, CONNECT_TIMEOUT_MS)
    }
    this.joined += 1
  }

  /** Connects `peer` without waiting for anything. */
  async connect(peer: PeerProcess): Promise<void> {
    await peer.request({
      op: 'connect',
      signaling: [this.signalingUrl],
      room: this.name,
      password: this.password,
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.peers.map((peer) => peer.stop()))
    await this.watcher.close()
    await this.server.close()
  }
}
