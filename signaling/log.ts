// Structured logging for the server: one JSON object per line, so operators can grep and ship
// it as is. Each line names an event (`signal.rejected`) and carries fields, never free text
// built from client input. Tests pass their own sink to capture or silence it.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

export type LogFields = Record<string, unknown>

export interface Logger {
  debug(event: string, fields?: LogFields): void
  info(event: string, fields?: LogFields): void
  warn(event: string, fields?: LogFields): void
  error(event: string, fields?: LogFields): void
}

export interface LoggerOptions {
  /** Lines below this level are dropped. Default `info`. */
  level?: LogLevel
  /** Receives each finished line, without the newline. Default: stdout. */
  sink?: (line: string) => void
  /** Injected so tests can pin timestamps. */
  now?: () => Date
}

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent']

const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 }

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value)
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = SEVERITY[options.level ?? 'info']
  const sink = options.sink ?? ((line: string) => void process.stdout.write(line + '\n'))
  const now = options.now ?? (() => new Date())

  const write = (level: Exclude<LogLevel, 'silent'>, event: string, fields?: LogFields) => {
    if (SEVERITY[level] < threshold) return
    sink(formatLine({ time: now().toISOString(), level, event, ...fields }))
  }
  return {
    debug: (event, fields) => write('debug', event, fields),
    info: (event, fields) => write('info', event, fields),
    warn: (event, fields) => write('warn', event, fields),
    error: (event, fields) => write('error', event, fields),
  }
}

/** A logger that drops everything. */
export const silentLogger: Logger = createLogger({ level: 'silent' })

function formatLine(record: LogFields): string {
  try {
    return JSON.stringify(record, replaceUnserializable)
  } catch (error) {
    // A circular field must not take the server down with it: keep the event, drop the fields.
    return JSON.stringify({
      time: record.time,
      level: record.level,
      event: record.event,
      logError: String(error),
    })
  }
}

// Errors stringify to `{}` and bigints throw: turn both into something readable.
function replaceUnserializable(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message }
  if (typeof value === 'bigint') return value.toString()
  return value
}
