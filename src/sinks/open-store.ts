/**
 * Opens the store a `--store` value names: the DuckDB file (default) or a Cassandra keyspace.
 * The Cassandra driver is imported only when a `cassandra://` URL is given.
 */
import { hostname } from 'node:os';
import { PipelineError } from '../core/errors.ts';
import type { RecordStore } from '../core/store.ts';
import { type DuckDBStore, openDuckDBStore } from './db/duckdb-store.ts';
import { parseStoreAddress, type StoreAddress } from './store-url.ts';

export interface OpenStoreOptions {
  /** Sensor name the records are filed under (Cassandra); default: this host's name. */
  sensor?: string;
  /** What the run reads, for the DuckDB `runs` table. */
  label?: string;
  /** DuckDB only: also store one row per packet. */
  packets?: boolean;
  /** DuckDB: keep one row per delivered flow record (the sink role). Cassandra always does. */
  dedupeFlows?: boolean;
}

export interface OpenedStore {
  store: RecordStore;
  /** The same store when it is the DuckDB file (dashboard read model, packet rows), else null. */
  duckdb: DuckDBStore | null;
  address: StoreAddress;
}

/**
 * @example
 * const { store } = await openStore('cassandra://127.0.0.1:9042/pcapstream', { sensor: 'edge-1' });
 */
export async function openStore(text: string, o: OpenStoreOptions = {}): Promise<OpenedStore> {
  const address = parseStoreAddress(text);
  if (address.kind === 'duckdb') {
    const duckdb = await openDuckDBStore({
      path: address.path,
      ...(o.packets === undefined ? {} : { packets: o.packets }),
      ...(o.label === undefined ? {} : { label: o.label }),
      ...(o.dedupeFlows === undefined ? {} : { dedupeFlows: o.dedupeFlows }),
    });
    return { store: duckdb, duckdb, address };
  }
  if (o.packets === true) {
    throw new PipelineError('PCS_USAGE', 'packet rows (--store-packets) are kept only in the DuckDB store');
  }
  const { openCassandraStore } = await import('./cassandra/cassandra-store.ts');
  const store = await openCassandraStore(address, { sensor: o.sensor ?? hostname() });
  return { store, duckdb: null, address };
}
