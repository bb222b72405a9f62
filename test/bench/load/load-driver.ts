// The benchmark's side of a load generator process: fork it, send it commands, await replies.
import type { ChildProcess } from 'node:child_process'
import type { LoadCommand, LoadReply, StepResult } from './load-protocol'
import { spawnNode, stop } from './processes'

export class LoadGenerator {
  private readonly child: ChildProcess
  private readonly replies: LoadReply[] = []
  private waiter: (() => void) | null = null
  private exited = false

  constructor(script: string) {
    this.child = spawnNode(['--import', 'tsx', script], { ipc: true })
    this.child.stdout?.pipe(process.stdout)
    this.child.on('message', (message: LoadReply) => {
      this.replies.push(message)
      this.waiter?.()
    })
    this.child.once('exit', () => {
      this.exited = true
      this.waiter?.()
    })
  }

  get pid(): number {
    return this.child.pid ?? 0
  }

  /** Sends a command and waits for its reply (of `type`), failing after `timeoutMs`. */
  async request<T extends LoadReply['type']>(
    command: LoadCommand,
    type: T,
    timeoutMs: number,
  ): Promise<Extract<LoadReply, { type: T }>> {
    this.child.send(command)
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const reply = this.replies.shift()
      if (reply?.type === 'error') throw new Error(`load generator: ${reply.message}`)
      if (reply?.type === type) return reply as Extract<LoadReply, { type: T }>
      if (reply) continue
      if (this.exited) throw new Error('load generator exited')
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`load generator: no ${type} within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiter = () => {
          clearTimeout(timer)
          this.waiter = null
          resolve()
        }
      })
    }
  }

  async close(): Promise<void> {
    await stop(this.child, 1_000)
  }
}

export type { StepResult }
