/**
 * The ETSI GS QKD 014 conformance suite (./etsi-gs-qkd-014-suite.fixture.ts) against KMEs on PostgreSQL stores,
 * in a throwaway cluster (real PostgreSQL; fails, never skips, when its binaries are missing).
 */
import { etsi014Suite } from './etsi-gs-qkd-014-suite.fixture.ts';

etsi014Suite('postgres');
