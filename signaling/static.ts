// Serves the built app from the dist directory: hashed assets cached forever, the entry points
// (index.html, sw.js, the manifest) revalidated on every load so a new build reaches users, and
// any unknown path without a file extension answered with index.html (client-side routes).

import { stat } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import sirv, { type RequestHandler } from 'sirv'
import type { Logger } from './log'

export const NOT_BUILT_MESSAGE = 'App not built: run `npm run build`'

// Vite puts content-hashed files under assets/: a changed file gets a new name, so a year
// (the HTTP maximum in practice) of immutable caching is safe.
const HASHED_ASSET_CACHE = 'public, max-age=31536000, immutable'
// Everything else may change under the same name: the browser must revalidate (ETag) each time.
const REVALIDATE = 'no-cache'

export type StaticHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>

interface LoadedBuild {
  index: Stats
  handler: RequestHandler
}

export function createStaticHandler(distDir: string, logger: Logger): StaticHandler {
  let build: LoadedBuild | undefined

  return async (req, res) => {
    const index = await statFile(join(distDir, 'index.html'))
    if (!index) {
      build = undefined
      res.writeHead(503, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Cache-Control': 'no-store',
      })
      res.end(NOT_BUILT_MESSAGE + '\n')
      return
    }
    // sirv lists the directory once; a rebuild (new index.html) is picked up without a restart.
    if (!build || !sameFile(build.index, index)) {
      build = { index, handler: loadBuild(distDir, index) }
      logger.info('static.loaded', { distDir })
    }
    build.handler(req, res)
  }
}

function loadBuild(distDir: string, index: Stats): RequestHandler {
  return sirv(distDir, {
    etag: true,
    single: true,
    dotfiles: false,
    setHeaders: (res, pathname, stats) => {
      // The single-page fallback reports the requested path, not index.html: compare files so
      // that an unknown /assets/… path answered with index.html is never cached as immutable.
      const hashed = pathname.startsWith('/assets/') && !sameFile(stats, index)
      res.setHeader('Cache-Control', hashed ? HASHED_ASSET_CACHE : REVALIDATE)
    },
    onNoMatch: (_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
      res.end('Not found\n')
    },
  })
}

async function statFile(path: string): Promise<Stats | undefined> {
  try {
    const stats = await stat(path)
    return stats.isFile() ? stats : undefined
  } catch {
    return undefined // missing or unreadable both mean "not built"
  }
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.size === b.size
}
