// Builds the dashboard (web/) with Vite into web/dist. Runs during `npm install` (prepare) so that
// `npm start` serves a built page. Skips quietly when web/ has no Vite config yet.
import { existsSync } from 'node:fs';

if (!existsSync('web/vite.config.ts') && !existsSync('web/vite.config.mjs')) {
  console.log('build-web: no web/vite.config.*, nothing to build');
  process.exit(0);
}
let vite;
try {
  vite = await import('vite');
} catch {
  console.log('build-web: vite is not installed (production install?), skipping the dashboard build');
  process.exit(0);
}
await vite.build({
  root: 'web',
  logLevel: 'warn',
  configFile: existsSync('web/vite.config.ts') ? 'web/vite.config.ts' : 'web/vite.config.mjs',
});
console.log('build-web: web/dist written');
