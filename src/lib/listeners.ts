// A minimal typed listener set, below every layer that emits changes (net, session) and the UI
// that follows them: observable pieces expose `subscribe` so Lit controllers can unsubscribe.

export type Unsubscribe = () => void

export class Listeners<T extends unknown[] = []> {
  private readonly listeners = new Set<(...args: T) => void>()

  subscribe(listener: (...args: T) => void): Unsubscribe {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  emit(...args: T): void {
    for (const listener of [...this.listeners]) listener(...args)
  }

  clear(): void {
    this.listeners.clear()
  }
}
