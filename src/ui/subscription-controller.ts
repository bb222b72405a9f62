// Bridges the session's observable pieces into Lit: subscribe on connect, unsubscribe on
// disconnect, requestUpdate() on change (STYLE.md). Updates are coalesced to one per frame
// because a sync can deliver thousands of changes in a burst.
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import type { Unsubscribe } from '../lib/listeners'

export type Subscribable = { subscribe(listener: () => void): Unsubscribe }

export class SubscriptionController implements ReactiveController {
  private unsubscribers: Unsubscribe[] = []
  private sources: Subscribable[] = []
  private scheduled = false

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this)
  }

  /** Follow these sources from now on (replacing previous ones). */
  follow(...sources: Subscribable[]): void {
    this.hostDisconnected()
    this.sources = sources
    this.hostConnected()
    this.host.requestUpdate()
  }

  hostConnected(): void {
    this.unsubscribers = this.sources.map((source) => source.subscribe(() => this.schedule()))
  }

  hostDisconnected(): void {
    for (const unsubscribe of this.unsubscribers) unsubscribe()
    this.unsubscribers = []
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    requestAnimationFrame(() => {
      this.scheduled = false
      this.host.requestUpdate()
    })
  }
}
