// esbuild options shared by the production bundle (scripts/build-dist.mjs) and the compiled fast test suite
// (scripts/run-tests.mjs). Pure-JavaScript dependencies are bundled in: resolving and reading the few
// hundred files of fastify, pino, TypeBox, commander … one by one was half of a command's start-up CPU
// (`qkdnet pki --help`: 0.88 → 0.47 s of CPU). What cannot be bundled stays external: native addons
// (better-sqlite3), drivers loaded on demand (pg), and the TypeScript and browser tooling.

/** Kept out of bundles. */
export const EXTERNAL = ['better-sqlite3', 'pg', 'pg-native', 'tsx', 'tsx/*', 'esbuild', 'playwright-core'];

/** CommonJS dependencies bundled into an ES module still call require() for Node's built-ins. */
export const REQUIRE_BANNER = {
  js: "import { createRequire as qkdnetCreateRequire } from 'node:module'; const require = qkdnetCreateRequire(import.meta.url);",
};
