/**
 * The report source behind a `--store` value. Each backend is imported on use, so asking a
 * DuckDB file never loads the Cassandra driver and asking Cassandra never loads DuckDB.
 */

import type { ReportSource } from '../core/reports.ts';
import { parseStoreAddress } from '../sinks/store-url.ts';

/**
 * Open the reports of a DuckDB file path or a `cassandra://` URL; `PCS_USAGE` for an address
 * that is neither, `PCS_STORE_OPEN` when the store cannot be opened.
 * @example
 * const src = await openReportSource('cassandra://127.0.0.1:9042/pcapstream');
 * const { rows } = await src.run('alerts', { limit: 50, stepS: 60 });
 * await src.close();
 */
export async function openReportSource(store: string): Promise<ReportSource> {
  const address = parseStoreAddress(store);
  if (address.kind === 'duckdb') {
    return (await import('./reports-duckdb.ts')).DuckDBReports.open(address.path);
  }
  return (await import('../sinks/cassandra/cassandra-reports.ts')).openCassandraReports(address);
}
