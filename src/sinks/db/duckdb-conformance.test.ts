/** The store conformance suite on DuckDB files. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { storeConformance } from '../../../test/conformance/store.ts';
import { openReportSource } from '../../query/open-reports.ts';
import { openDuckDBStore } from './duckdb-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'pcs-store-conf-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

storeConformance('duckdb', {
  fresh: async () => join(dir, `s${++n}.duckdb`),
  // A second writer appends a run; the sink role writes with dedupeFlows, `run` without.
  open: (path) => openDuckDBStore({ path, dedupeFlows: n % 2 === 0 }),
  reports: (path) => openReportSource(path),
});
