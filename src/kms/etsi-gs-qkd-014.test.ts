/** The ETSI GS QKD 014 conformance suite (./etsi-gs-qkd-014-suite.fixture.ts) against KMEs on SQLite stores. */
import { etsi014Suite } from './etsi-gs-qkd-014-suite.fixture.ts';

etsi014Suite('sqlite');
