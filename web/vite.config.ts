// Vite build of the dashboard (scripts/build-web.mjs runs it during `npm install` and `npm run build:web`).
// Preact through the automatic JSX runtime; output in web/dist, served by src/server/static.ts.
// `npm run build:web` then `qkdnet up` serves it; for UI work, `npx vite web` proxies /api to :8080.
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'web',
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1200, sourcemap: false },
  server: { proxy: { '/api': 'http://127.0.0.1:8080', '/metrics': 'http://127.0.0.1:8080' } },
});
