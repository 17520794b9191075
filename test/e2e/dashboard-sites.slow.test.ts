/**
 * The dashboard end-to-end suite (dashboard.slow.test.ts) once more, with every node's KME in its own OS
 * process: `npm start -- --sites processes`. The page, the controls, the KMEs' keys over mutual TLS and a
 * clean Ctrl-C must all behave as with every KME inside the `up` process.
 */
process.env.QKDNET_E2E_SITES = 'processes';
await import('./dashboard.slow.test.ts');
