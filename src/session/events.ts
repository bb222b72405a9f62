// A minimal typed listener set: the session's observable pieces expose `subscribe` so Lit
// controllers can follow them and unsubscribe on disconnect.

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
