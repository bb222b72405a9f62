import { defineConfig } from 'vitest/config'
import { VitePWA } from 'vite-plugin-pwa'

// One copy of yjs in the bundle: two copies break its instanceof checks silently.
export default defineConfig({
  resolve: { dedupe: ['yjs', 'lib0', 'y-protocols'] },
  build: { target: 'es2022', sourcemap: true },
  server: {
    proxy: {
      // `npm run dev` serves the app from Vite; signaling and relay come from the Parley server.
      '/signal': { target: 'ws://localhost:8787', ws: true },
      '/relay': { target: 'ws://localhost:8787', ws: true },
      '/config.json': { target: 'http://localhost:8787' },
    },
  },
  plugins: [
    VitePWA({
      registerType: 'autoUpdate',
      injectRegister: false,
      manifest: {
        name: 'Parley',
        short_name: 'Parley',
        description: 'Peer-to-peer chat: a room is a link.',
        theme_color: '#1f2937',
        background_color: '#ffffff',
        display: 'standalone',
        icons: [{ src: 'icon.svg', sizes: 'any', type: 'image/svg+xml' }],
      },
      workbox: {
        // What registerType 'autoUpdate' means (docs/local-storage.md, "Drafts"): a new build's
        // worker takes over at once and main.ts reloads open pages into it. vite-plugin-pwa sets
        // these itself only when it injects the registration (injectRegister), which we do not;
        // without them a new worker waited until every tab of the app was closed.
        skipWaiting: true,
        clientsClaim: true,
        globPatterns: ['**/*.{js,css,html,svg,webmanifest}'],
        navigateFallback: 'index.html',
        navigateFallbackDenylist: [/^\/signal/, /^\/relay/, /^\/config\.json/, /^\/healthz/],
      },
    }),
  ],
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/{unit,fuzz,integration}/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Real Chromium processes in network namespaces (TESTING.md): needs root, one file at a time.
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
})
