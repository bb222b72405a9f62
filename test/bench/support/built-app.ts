// The production build benchmarks measure. `npm run bench` builds once and passes the
// directory in PARLEY_BENCH_DIST; a benchmark run on its own builds into a temp dir (never
// into dist/, which the end-to-end tests serve while they run).
import { spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url))

export function buildApp(outDir: string): void {
  const result = spawnSync(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules/vite/bin/vite.js'),
      'build',
      '--outDir',
      outDir,
      '--emptyOutDir',
      '--logLevel',
      'warn',
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] },
  )
  if (result.status !== 0) throw new Error(`vite build failed (${result.status ?? result.signal})`)
}

export function builtApp(): string {
  const given = process.env.PARLEY_BENCH_DIST
  if (given) return given
  const outDir = mkdtempSync(join(tmpdir(), 'parley-bench-dist-'))
  buildApp(outDir)
  return outDir
}
