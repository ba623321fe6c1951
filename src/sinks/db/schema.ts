/**
 * The store's schema, version 2: table and column definitions shared by the writer
 * (`duckdb-store.ts`), the read model (`query/read-model.ts`) and the docs (docs/store.md, which a
 * test keeps in step with these definitions).
 *
 * Versioning: the `meta` table holds `schema_version`. Any change to a table here (a column
 * added, renamed, retyped, or a CIC feature added to `CIC_FEATURES`) must bump
 * `SCHEMA_VERSION`; the writer refuses to append to a file of another version, and it also
 * compares column names so a forgotten bump is caught rather than writing misaligned rows.
 * A change that only adds columns also gets an entry in `MIGRATIONS`, so the writer upgrades
 * older files in place (version 1 -> 2 added `flows.flow_uid`).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { PipelineError } from '../../core/errors.ts';
import { CIC_FEATURES } from '../../flow/cic-features.ts';
import { FLOW_SCALAR_COLUMNS } from '../flow-format.ts';

/**
 * Version of the layout below, stored in `meta.schema_version`.
 * @example
 * const { rows } = await rm.query('SELECT schema_version FROM meta'); // [[SCHEMA_VERSION]]
 */
export const SCHEMA_VERSION = 2;

/**
 * Store file used by `run` and `query` when `--db` is not given (in the current directory).
 * @example
 * const store = await openDuckDBStore({ path: DEFAULT_STORE_PATH });
 */
export const DEFAULT_STORE_PATH = 'pcapstream.duckdb';

/**
 * How every reader opens a store: read-only, no file or network access from SQL, no extension
 * installs, settings locked. The query API's read-only guarantee rests on these, so they are
 * defined once.
 */
export const READ_ONLY_DUCKDB_CONFIG: Readonly<Record<string, string>> = {
  access_mode: 'READ_ONLY',
  enable_external_access: 'false',
  autoinstall_known_extensions: 'false',
  autoload_known_extensions: 'false',
  lock_configuration: 'true',
};

/**
 * Prefix of the writer's internal table functions (the staging scans). The query guard refuses
 * every function with this prefix, so ad hoc SQL cannot read or drain the write queue.
 */
export const INTERNAL_FUNCTION_PREFIX = 'pcapstream_stage_';

/** One column of a stored table. */
export interface ColumnDef {
  name: string;
  /** DuckDB type, as written in the DDL. */
  type: string;
  /** Meaning and unit, for docs/store.md. */
  doc: string;
}

/** One stored table. */
export interface TableDef {
  name: string;
  doc: string;
  columns: readonly ColumnDef[];
}

function c(name: string, type: string, doc: string): ColumnDef {
  return { name, type, doc };
}

/** `STRUCT(key, packets, bytes)[]`: a top-N list (`TopEntry[]`). */
export const TOP_LIST_TYPE = 'STRUCT(key VARCHAR, packets BIGINT, bytes BIGINT)[]';
/** Per-protocol counters of a metric window. */
export const PROTOCOL_MAP_TYPE = 'MAP(VARCHAR, STRUCT(packets BIGINT, bytes BIGINT))';
/** Named counters (anomaly codes, loss counters). */
export const COUNTER_MAP_TYPE = 'MAP(VARCHAR, BIGINT)';

const FLOW_SCALAR_DEFS: Readonly<Record<(typeof FLOW_SCALAR_COLUMNS)[number], [string, string]>> = {
  flow_id: ['BIGINT', 'Sequence number of the flow within its run; partial updates repeat it'],
  flow_uid: [
    'VARCHAR',
    'Stable flow id, 16 hex digits: the same in every process for the same flow (key and first_seen_us); partial updates repeat it',
  ],
  community_id: ['VARCHAR', 'Community ID v1 (seed 0)'],
  first_seen_us: ['BIGINT', 'First packet time, µs since the Unix epoch'],
  last_seen_us: ['BIGINT', 'Last packet time, µs since the Unix epoch'],
  duration_us: ['BIGINT', 'last_seen_us - first_seen_us, µs'],
  ip_version: ['UTINYINT', '4 or 6'],
  protocol: ['UTINYINT', 'IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...)'],
  protocol_name: ['VARCHAR', '`tcp`, `udp`, `icmp`, `icmpv6`, else the protocol number as text'],
  src_ip: ['VARCHAR', 'Initiator address (sent the first packet)'],
  src_port: ['INTEGER', 'Initiator port (0 without ports)'],
  dest_ip: ['VARCHAR', 'Responder address'],
  dest_port: ['INTEGER', 'Responder port (0 without ports)'],
  vlan_id: ['INTEGER', 'Outermost 802.1Q VLAN id of the first packet, -1 without'],
  tunnel_type: ['VARCHAR', "Outermost tunnel of the first packet (`vxlan`, `gre`, ...), '' without"],
  fwd_packets: ['BIGINT', 'Packets from src to dest'],
  bwd_packets: ['BIGINT', 'Packets from dest to src'],
  fwd_bytes: ['BIGINT', 'Frame bytes on the wire, src to dest'],
  bwd_bytes: ['BIGINT', 'Frame bytes on the wire, dest to src'],
  fwd_payload_bytes: ['BIGINT', 'Transport payload bytes, src to dest'],
  bwd_payload_bytes: ['BIGINT', 'Transport payload bytes, dest to src'],
  fwd_tcp_flags: ['USMALLINT', 'OR of the TCP flags src sent (0 for other protocols)'],
  bwd_tcp_flags: ['USMALLINT', 'OR of the TCP flags dest sent'],
  end_reason: ['VARCHAR', '`fin`, `rst`, `idle`, `active`, `evicted`, `end`, or `update` for a partial record'],
  partial: ['BOOLEAN', 'True for an update of a flow still open; its final record follows'],
};

/** The run id column every data table starts with. */
const RUN_ID = c('run_id', 'INTEGER', 'The run that wrote the row (`runs.run_id`)');

/** Which packet a packet-level row is about, and when it was seen (anomalies and packets tables). */
const PACKET_ID_COLUMNS: readonly ColumnDef[] = [
  c('frame_number', 'BIGINT', 'Frame number in the input, from 1'),
  c('ts_us', 'BIGINT', 'Packet time, µs since the epoch'),
  c('ts', 'TIMESTAMP', 'ts_us as a TIMESTAMP (UTC)'),
];

/** Flow table: run id, the scalars of `FlowRecord`, two TIMESTAMP conveniences, then the CIC features. */
export const FLOWS_TABLE: TableDef = {
  name: 'flows',
  doc: 'One row per FlowRecord: every finished flow, and every partial update of a long flow.',
  columns: [
    RUN_ID,
    ...FLOW_SCALAR_COLUMNS.map((n) => c(n, FLOW_SCALAR_DEFS[n][0], FLOW_SCALAR_DEFS[n][1])),
    c('first_seen', 'TIMESTAMP', 'first_seen_us as a TIMESTAMP (UTC)'),
    c('last_seen', 'TIMESTAMP', 'last_seen_us as a TIMESTAMP (UTC)'),
    ...CIC_FEATURES.map((f) =>
      c(f.name, 'DOUBLE', `CIC feature \`${f.header.trim()}\`: ${f.doc}; NULL when features are off`),
    ),
  ],
};

/** Metric windows: scalars, then maps and top lists as nested DuckDB types. */
export const METRICS_TABLE: TableDef = {
  name: 'metrics',
  doc: 'One row per closed rolling KPI window (MetricWindow), 1 s and 60 s.',
  columns: [
    RUN_ID,
    c('window_s', 'INTEGER', 'Window length in seconds: 1 or 60'),
    c('start_us', 'BIGINT', 'Window start (packet time, aligned to the length), µs since the epoch'),
    c('start', 'TIMESTAMP', 'start_us as a TIMESTAMP (UTC)'),
    c('packets', 'BIGINT', 'Packets in the window'),
    c('bytes', 'BIGINT', 'Frame bytes on the wire in the window'),
    c(
      'protocols',
      PROTOCOL_MAP_TYPE,
      "Per protocol class (`tcp`, `udp`, `icmp`, `icmpv6`, `other_ip`, `arp`, `non_ip`): `protocols['tcp'].packets`",
    ),
    c('new_flows', 'BIGINT', 'Flows that started in the window'),
    c('ended_flows', 'BIGINT', 'Flows that ended in the window'),
    c('tcp_syn', 'BIGINT', 'TCP SYN (without ACK) packets'),
    c('tcp_rst', 'BIGINT', 'TCP RST packets'),
    c('dns_queries', 'BIGINT', 'DNS queries'),
    c('dns_nxdomain', 'BIGINT', 'DNS responses with NXDOMAIN'),
    c('anomalies', COUNTER_MAP_TYPE, 'Decoder anomalies by code seen in the window'),
    c('top_talkers', TOP_LIST_TYPE, 'Top source addresses of the window (key: address text)'),
    c('top_ports', TOP_LIST_TYPE, 'Top service ports of the window (key: `443/tcp`)'),
    c('top_conversations', TOP_LIST_TYPE, 'Top flows of the window (key: `10.0.0.1:40000 <-> 10.0.0.2:443 tcp`)'),
    c('losses', COUNTER_MAP_TYPE, 'Loss counters (totals at the window close): flows evicted, refused, ...'),
  ],
};

/** Packets that carried a decoder anomaly. */
export const ANOMALIES_TABLE: TableDef = {
  name: 'anomalies',
  doc: 'One row per packet that carried a decoder anomaly (AnomalyRecord).',
  columns: [
    RUN_ID,
    ...PACKET_ID_COLUMNS,
    c('code', 'VARCHAR', 'Anomaly code, e.g. `ipv4.checksum_invalid` (docs/fields.md lists them)'),
    c('src_ip', 'VARCHAR', "Source address when decoding got that far, else ''"),
    c('dest_ip', 'VARCHAR', "Destination address when decoding got that far, else ''"),
    c('protocol', 'UTINYINT', 'IP protocol number, 0 when unknown'),
  ],
};

/** Optional per-packet rows (`run --store-packets`): a few core columns, not a full decode. */
export const PACKETS_TABLE: TableDef = {
  name: 'packets',
  doc: 'One row per packet, only when the run was asked to store packets (empty otherwise).',
  columns: [
    RUN_ID,
    ...PACKET_ID_COLUMNS,
    c('frame_length', 'INTEGER', 'Frame length on the wire, bytes'),
    c('captured_length', 'INTEGER', 'Bytes captured'),
    c('ip_version', 'UTINYINT', '4, 6, or 0 without IP'),
    c('protocol', 'UTINYINT', 'IP protocol number (innermost IP header), 0 without IP'),
    c('src_ip', 'VARCHAR', "Source address, '' without IP"),
    c('dest_ip', 'VARCHAR', "Destination address, '' without IP"),
    c('src_port', 'INTEGER', 'TCP/UDP source port, 0 otherwise'),
    c('dest_port', 'INTEGER', 'TCP/UDP destination port, 0 otherwise'),
    c('tcp_flags', 'USMALLINT', 'TCP flags, 0 without TCP'),
    c('vlan_id', 'INTEGER', 'Outermost VLAN id, -1 without'),
    c('anomalies', 'VARCHAR', "Anomaly codes of the packet, comma-separated, '' when none"),
  ],
};

/** The version table: exactly one row. */
export const META_TABLE: TableDef = {
  name: 'meta',
  doc: 'One row: the schema version of the file and when it was created.',
  columns: [
    c('schema_version', 'INTEGER', 'Layout version (this document describes version 2)'),
    c('created', 'TIMESTAMP', 'When the file was created (wall clock, UTC)'),
    c('producer', 'VARCHAR', '`pcapstream` and its version'),
  ],
};

/** One row per run that wrote to the file; data rows point here through `run_id`. */
export const RUNS_TABLE: TableDef = {
  name: 'runs',
  doc: 'One row per run that wrote to the file (appending runs get the next id).',
  columns: [
    c('run_id', 'INTEGER', 'Run id, from 1'),
    c('started', 'TIMESTAMP', 'When the run opened the store (wall clock, UTC)'),
    c('label', 'VARCHAR', "What the run read (input name), '' when not given"),
  ],
};

/**
 * Every table, in creation order.
 * @example
 * for (const t of TABLES) console.log(t.name, t.columns.length);
 */
export const TABLES: readonly TableDef[] = [
  META_TABLE,
  RUNS_TABLE,
  FLOWS_TABLE,
  METRICS_TABLE,
  ANOMALIES_TABLE,
  PACKETS_TABLE,
];

/**
 * View with one row per flow: its final record, or while it is still open its latest partial
 * update. Counting flows or summing their packets goes through here (partial records repeat).
 */
export const FLOWS_LATEST_VIEW = 'flows_latest';

// The final records, plus the newest partial record of each flow that has none: ranking only the
// (few) partial records is 2-3x faster than one window over every row.
const FLOWS_LATEST_SQL =
  `CREATE VIEW ${FLOWS_LATEST_VIEW} AS SELECT * FROM flows WHERE NOT partial UNION ALL ` +
  'SELECT * FROM (SELECT f.* FROM flows f ANTI JOIN (SELECT run_id, flow_id FROM flows WHERE NOT partial) d ' +
  'USING (run_id, flow_id) WHERE f.partial ' +
  'QUALIFY row_number() OVER (PARTITION BY f.run_id, f.flow_id ORDER BY f.last_seen_us DESC) = 1)';

/** An in-place upgrade from `from` to `from + 1`: columns added to one table. */
interface Migration {
  from: number;
  table: TableDef;
  /** Names of the added columns (type and doc from the table's definition). */
  columns: readonly string[];
}

/**
 * Upgrades of older files, oldest first. DuckDB's ALTER TABLE appends a column at the end, so
 * in an upgraded file these columns come last: the writer inserts by column name, readers select
 * by name, and `verifySchema` accepts them there. Rows written before the upgrade hold NULL.
 */
const MIGRATIONS: readonly Migration[] = [{ from: 1, table: FLOWS_TABLE, columns: ['flow_uid'] }];

/** The oldest version `migrateSchema` upgrades. */
const OLDEST_MIGRATABLE = MIGRATIONS[0]!.from;

/**
 * Upgrade an older store in place (in one transaction) to the current version: add the columns
 * of each migration step, recreate the views over them, bump `meta.schema_version`. A file of
 * the current version, a newer one, or one that is not a store is left alone (`verifySchema`
 * then says what is wrong). Returns the version the file had.
 * @example
 * await migrateSchema(conn); await verifySchema(conn, path);
 */
export async function migrateSchema(conn: DuckDBConnection): Promise<number | null> {
  const meta = await conn.runAndReadAll(
    "SELECT count(*)::INTEGER FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'meta'",
  );
  if (meta.getRows()[0]![0] === 0) return null;
  const v = await conn.runAndReadAll('SELECT max(schema_version)::INTEGER FROM meta');
  const version = (v.getRows()[0]?.[0] ?? null) as number | null;
  if (version === null || version < OLDEST_MIGRATABLE || version >= SCHEMA_VERSION) return version;
  await conn.run('BEGIN TRANSACTION');
  try {
    // A view over `SELECT *` is bound to the columns it was created with: recreate it.
    await conn.run(`DROP VIEW IF EXISTS ${FLOWS_LATEST_VIEW}`);
    for (const m of MIGRATIONS) {
      if (m.from < version) continue;
      for (const name of m.columns) {
        const col = m.table.columns.find((x) => x.name === name)!;
        await conn.run(`ALTER TABLE ${m.table.name} ADD COLUMN ${col.name} ${col.type}`);
      }
    }
    await conn.run(FLOWS_LATEST_SQL);
    await conn.run(`UPDATE meta SET schema_version = ${SCHEMA_VERSION}`);
    await conn.run('COMMIT');
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return version;
}

/** Column names of `t` as `migrateSchema` leaves them: every migrated column moved to the end. */
function migratedOrder(t: TableDef): string[] {
  const added = MIGRATIONS.filter((m) => m.table === t).flatMap((m) => m.columns);
  const names = t.columns.map((col) => col.name);
  return [...names.filter((n) => !added.includes(n)), ...added];
}

/**
 * DDL creating every table and view of the current version (run in one transaction).
 * @example
 * for (const sql of schemaDDL()) await conn.run(sql);
 */
export function schemaDDL(): string[] {
  const out = TABLES.map(
    (t) => `CREATE TABLE ${t.name} (${t.columns.map((col) => `${col.name} ${col.type}`).join(', ')})`,
  );
  out.push(FLOWS_LATEST_SQL);
  return out;
}

/**
 * Check that the database behind `conn` is a pcapstream store of this version with the expected
 * columns; throws `PCS_STORE_OPEN` saying what differs.
 * @example
 * await verifySchema(conn, 'pcapstream.duckdb');
 */
export async function verifySchema(conn: DuckDBConnection, path: string): Promise<void> {
  const cols = await conn.runAndReadAll(
    'SELECT table_name, column_name FROM duckdb_columns() ' +
      "WHERE database_name = current_database() AND schema_name = 'main' ORDER BY table_name, column_index",
  );
  const have = new Map<string, string[]>();
  for (const [t, col] of cols.getRows() as [string, string][]) {
    const list = have.get(t) ?? [];
    list.push(col);
    have.set(t, list);
  }
  if (!have.has(META_TABLE.name)) {
    throw new PipelineError(
      'PCS_STORE_OPEN',
      `${path} is a DuckDB database but not a pcapstream store (it has no meta table); use another file`,
    );
  }
  const v = await conn.runAndReadAll('SELECT max(schema_version)::INTEGER FROM meta');
  const version = v.getRows()[0]?.[0] ?? null;
  if (version !== SCHEMA_VERSION) {
    const older = typeof version === 'number' && version >= OLDEST_MIGRATABLE && version < SCHEMA_VERSION;
    throw new PipelineError(
      'PCS_STORE_OPEN',
      `the store ${path} has schema version ${version ?? 'none'}, this pcapstream uses version ${SCHEMA_VERSION}; ` +
        (older
          ? 'a `pcapstream run` writing to it upgrades it in place (or use another file)'
          : 'use another file (or move this one away)'),
    );
  }
  for (const t of TABLES) {
    const got = have.get(t.name) ?? [];
    const fresh = t.columns.map((col) => col.name);
    const moved = migratedOrder(t);
    const want = moved.every((name, k) => got[k] === name) && got.length === moved.length ? moved : fresh;
    const i = want.findIndex((name, k) => got[k] !== name);
    if (i >= 0 || got.length !== want.length) {
      const where = i >= 0 ? `column ${i + 1} should be ${want[i]}, found ${got[i] ?? 'nothing'}` : 'extra columns';
      throw new PipelineError(
        'PCS_STORE_OPEN',
        `the store ${path} says schema version ${SCHEMA_VERSION} but its ${t.name} table differs (${where}); use another file`,
      );
    }
  }
}

/**
 * A `PipelineError` (`PCS_STORE_OPEN`) for a failed DuckDB open, in words a user can act on.
 * `reading` adds the hints for a reader (`pcapstream query`).
 * @example
 * try { await DuckDBInstance.create(path); } catch (e) { throw storeOpenError(path, e, false); }
 */
export function storeOpenError(path: string, err: unknown, reading: boolean): PipelineError {
  const msg = err instanceof Error ? err.message : String(err);
  const lock = /Conflicting lock is held in .*?\(PID (\d+)\)/.exec(msg);
  let text: string;
  if (lock !== null) {
    text = `the store ${path} is in use by another process (PID ${lock[1]}), probably a running pcapstream run`;
    if (reading) text += "; while it runs, query it through the dashboard's /api/query, or wait until it ends";
  } else if (/not a valid DuckDB database file/.test(msg)) {
    text = `${path} is not a DuckDB database`;
  } else if (/database does not exist/.test(msg)) {
    text = `no store at ${path}`;
    if (reading) text += ' (pcapstream run creates one; --db names another file)';
  } else {
    text = `cannot open the store ${path}: ${msg.split('\n')[0]}`;
  }
  return new PipelineError('PCS_STORE_OPEN', text, { cause: err });
}

// Feature names become column names beside the scalars: a clash would be a silent overwrite.
{
  const seen = new Set<string>();
  for (const col of FLOWS_TABLE.columns) {
    if (seen.has(col.name)) throw new Error(`flows table: duplicate column ${col.name}`);
    seen.add(col.name);
  }
}
