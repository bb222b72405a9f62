// Entry point: `node --import tsx signaling/main.ts [--port N] [--host H] ...`. Reads the
// configuration, starts the server, and shuts it down cleanly on SIGINT/SIGTERM.

import { ConfigError, parseConfig, usage } from './config'
import { createLogger } from './log'
import { startParleyServer } from './server'

// Hosts a browser treats as a secure context over plain http.
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1'])

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage())
    return
  }
  let config
  try {
    config = parseConfig(argv, process.env)
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`parley: ${error.message}`)
      process.exitCode = 2
      return
    }
    throw error
  }

  const logger = createLogger({ level: config.logLevel })
  const server = await startParleyServer(config, { logger })
  console.log(`Parley running at ${server.url}`)
  if (!LOOPBACK_HOSTS.has(config.host)) {
    console.log(
      'Note: browsers allow WebCrypto and service workers only on https:// or localhost. ' +
        'Put Parley behind an https reverse proxy to use it from other machines.',
    )
  }

  let signals = 0
  const shutdown = (signal: NodeJS.Signals) => {
    // A second Ctrl-C means "now": do not wait for clients to finish the close handshake.
    if (++signals > 1) process.exit(1)
    logger.info('server.shutdown', { signal })
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('server.shutdown_failed', { error })
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

main().catch((error: unknown) => {
  console.error(`parley: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})
