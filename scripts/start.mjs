// `npm start`: build the app, then run the Parley server (app + signaling on one port).
// Arguments after `--` go to the server, e.g. `npm start -- --port 9000`.
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

const build = spawnSync(
  process.execPath,
  ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'],
  {
    cwd: root,
    stdio: 'inherit',
  },
)
if (build.status !== 0) {
  console.error('parley: building the app failed (see above)')
  process.exit(build.status ?? 1)
}

const server = spawn(
  process.execPath,
  ['--import', 'tsx', 'signaling/main.ts', ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit' },
)
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal))
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
