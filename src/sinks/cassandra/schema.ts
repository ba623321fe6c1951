/**
 * The Cassandra keyspace layout, designed from the reports it answers (docs/cassandra.md):
 *
 * - `flows`: every flow in its latest state, partitioned by (sensor, time bucket of
 *   first_seen, shard) and clustered by (first_seen_us, flow_uid). A window's flows are read
 *   bucket by bucket, never by a scan. The shard (from the flow uid) splits a busy sensor's
 *   bucket so no partition grows past what Cassandra handles well.
 * - `flows_by_host`: the same flows again under each end's address, partitioned by (host,
 *   bucket): all flows of a host in a window, either direction, without a scan. It keeps the
 *   flow's identity and counters, not the CIC features.
 * - `metrics`: KPI windows by (sensor, window length, day), clustered by (start_us, source);
 *   the source tells processors of one sensor apart.
 * - `alerts`: anomalies by (sensor, bucket), clustered by (ts_us, frame_number, code).
 * - `buckets` and `sensor_days`: small indexes of which partitions exist, so readers visit
 *   only partitions that hold rows.
 * - `meta`: schema version and the layout settings the data was written with.
 *
 * Idempotence: every table is keyed by what identifies the record (flow uid, window start and
 * source, frame and code), so a record written twice is one row. A flow's rows are written with
 * a write timestamp derived from its last packet (final records one µs later than a partial
 * update of the same time), so whatever order redelivered records arrive in, the newest state
 * of the flow wins.
 */
import { PipelineError } from '../../core/errors.ts';
import { HOST_FLOW_COLUMNS } from '../../core/reports.ts';
import { CIC_FEATURES } from '../../flow/cic-features.ts';
import { METRIC_COUNT_FIELDS, METRIC_NESTED_FIELDS } from '../../flow/records.ts';
import { FLOW_SCALAR_COLUMNS } from '../flow-format.ts';
import type { CassandraStoreAddress } from '../store-url.ts';
import type { CassandraClient } from './client.ts';

/** Version of the layout below, in `meta`. */
export const CASSANDRA_SCHEMA_VERSION = 1;

/** CQL types of the flow scalars (same names as the DuckDB store's columns). */
const FLOW_SCALAR_TYPES: Readonly<Record<(typeof FLOW_SCALAR_COLUMNS)[number], string>> = {
  flow_id: 'bigint',
  flow_uid: 'text',
  community_id: 'text',
  first_seen_us: 'bigint',
  last_seen_us: 'bigint',
  duration_us: 'bigint',
  ip_version: 'int',
  protocol: 'int',
  protocol_name: 'text',
  src_ip: 'text',
  src_port: 'int',
  dest_ip: 'text',
  dest_port: 'int',
  vlan_id: 'int',
  tunnel_type: 'text',
  fwd_packets: 'bigint',
  bwd_packets: 'bigint',
  fwd_bytes: 'bigint',
  bwd_bytes: 'bigint',
  fwd_payload_bytes: 'bigint',
  bwd_payload_bytes: 'bigint',
  fwd_tcp_flags: 'int',
  bwd_tcp_flags: 'int',
  end_reason: 'text',
  partial: 'boolean',
};

/** Columns of `flows` after the key, in insert order: scalars (less the clustering ones), then features. */
export const FLOW_VALUE_COLUMNS: readonly string[] = [
  ...FLOW_SCALAR_COLUMNS.filter((c) => c !== 'first_seen_us' && c !== 'flow_uid'),
  ...CIC_FEATURES.map((f) => f.name),
];

/**
 * Columns of `flows_by_host` after the key: what the host-flows report shows (less the key
 * columns), plus the sensor, flow id, Community ID and protocol number. `sensor` comes first
 * (the writer binds it from the store, the rest from the record).
 */
export const HOST_VALUE_COLUMNS: readonly string[] = [
  'sensor',
  'flow_id',
  'community_id',
  'protocol',
  ...HOST_FLOW_COLUMNS.filter((c) => c !== 'flow_uid' && c !== 'first_seen_us'),
];

/** Counters of a metric window stored as columns; nested parts are JSON text. */
export const METRIC_COUNT_COLUMNS = METRIC_COUNT_FIELDS;
export const METRIC_JSON_COLUMNS = METRIC_NESTED_FIELDS;

function scalarType(name: string): string {
  return (FLOW_SCALAR_TYPES as Record<string, string>)[name] ?? (name === 'sensor' ? 'text' : 'double');
}

/**
 * The CREATE statements of every table, for keyspace `ks`.
 * @example
 * for (const cql of tableDDL('pcapstream')) await client.execute(cql);
 */
export function tableDDL(ks: string): string[] {
  const flowCols = FLOW_VALUE_COLUMNS.map((c) => `${c} ${scalarType(c)}`).join(', ');
  const hostCols = HOST_VALUE_COLUMNS.map((c) => `${c} ${scalarType(c)}`).join(', ');
  const metricCols = [
    ...METRIC_COUNT_COLUMNS.map((c) => `${c} bigint`),
    ...METRIC_JSON_COLUMNS.map((c) => `${c} text`),
  ].join(', ');
  return [
    `CREATE TABLE IF NOT EXISTS ${ks}.meta (key text PRIMARY KEY, value text)`,
    `CREATE TABLE IF NOT EXISTS ${ks}.flows (sensor text, bucket bigint, shard int, first_seen_us bigint, flow_uid text, ${flowCols}, ` +
      'PRIMARY KEY ((sensor, bucket, shard), first_seen_us, flow_uid))',
    `CREATE TABLE IF NOT EXISTS ${ks}.flows_by_host (host text, bucket bigint, first_seen_us bigint, flow_uid text, ${hostCols}, ` +
      'PRIMARY KEY ((host, bucket), first_seen_us, flow_uid))',
    `CREATE TABLE IF NOT EXISTS ${ks}.metrics (sensor text, window_s int, day bigint, start_us bigint, source text, ${metricCols}, ` +
      'PRIMARY KEY ((sensor, window_s, day), start_us, source))',
    `CREATE TABLE IF NOT EXISTS ${ks}.alerts (sensor text, bucket bigint, ts_us bigint, frame_number bigint, code text, ` +
      'src_ip text, dest_ip text, protocol int, PRIMARY KEY ((sensor, bucket), ts_us, frame_number, code))',
    // kind: 'flows' or 'alerts' (bucketed); which buckets of a sensor's day hold rows.
    `CREATE TABLE IF NOT EXISTS ${ks}.buckets (kind text, sensor text, day bigint, bucket bigint, PRIMARY KEY ((kind, sensor, day), bucket))`,
    // kind: 'flows', 'metrics' or 'alerts'; which sensors wrote on which day.
    `CREATE TABLE IF NOT EXISTS ${ks}.sensor_days (kind text, day bigint, sensor text, PRIMARY KEY ((kind), day, sensor))`,
  ];
}

/** The replication map as CQL text. */
function replicationCql(r: Record<string, string | number>): string {
  return `{${Object.entries(r)
    .map(([k, v]) => `'${k}': ${typeof v === 'number' ? v : `'${v}'`}`)
    .join(', ')}}`;
}

/**
 * Additive migration: a keyspace created by an older pcapstream lacks columns added since
 * (a new CIC feature, say). CREATE TABLE IF NOT EXISTS leaves existing tables alone, so compare
 * with `system_schema.columns` and add what is missing; old rows read those as null.
 */
async function addMissingColumns(client: CassandraClient, ks: string): Promise<void> {
  const rs = await client.execute('SELECT table_name, column_name FROM system_schema.columns WHERE keyspace_name = ?', [
    ks,
  ]);
  const have = new Set(rs.rows.map((r) => `${r.get('table_name')}.${r.get('column_name')}`));
  for (const cql of tableDDL(ks)) {
    const m = /^CREATE TABLE IF NOT EXISTS \w+\.(\w+) \((.*), PRIMARY KEY/.exec(cql);
    if (m === null) continue;
    for (const def of m[2]!.split(', ')) {
      const [col, type] = def.split(' ') as [string, string];
      if (!have.has(`${m[1]}.${col}`)) await client.execute(`ALTER TABLE ${ks}.${m[1]} ADD ${col} ${type}`);
    }
  }
}

/** Layout settings fixed when the keyspace was created. */
export interface KeyspaceLayout {
  bucketS: number;
  shards: number;
}

/**
 * Create the keyspace (with the address's replication) and tables when missing, check the
 * version and layout of an existing one, and return the layout to write with. An existing
 * keyspace keeps its bucket and shard settings: rows must be found where readers look.
 * @example
 * const layout = await ensureSchema(client, address);
 */
export async function ensureSchema(client: CassandraClient, a: CassandraStoreAddress): Promise<KeyspaceLayout> {
  const ks = a.keyspace;
  await client.execute(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = ${replicationCql(a.replication)}`);
  for (const cql of tableDDL(ks)) await client.execute(cql);
  await addMissingColumns(client, ks);
  const layout = await readLayout(client, ks);
  if (layout !== null) return layout;
  // First writer: record the version and layout. IF NOT EXISTS makes a race between two first
  // writers pick one layout, which both then read back.
  await client.execute(`INSERT INTO ${ks}.meta (key, value) VALUES ('layout', ?) IF NOT EXISTS`, [
    JSON.stringify({ schema_version: CASSANDRA_SCHEMA_VERSION, bucket_s: a.bucketS, shards: a.shards }),
  ]);
  const again = await readLayout(client, ks);
  if (again === null) throw new PipelineError('PCS_STORE_OPEN', `keyspace ${ks}: the layout row did not stick`);
  return again;
}

/**
 * The layout recorded in `ks.meta`, null when none (a new keyspace); `PCS_STORE_OPEN` when the
 * keyspace was written by another schema version.
 * @example
 * const layout = await readLayout(client, 'pcapstream');
 */
export async function readLayout(client: CassandraClient, ks: string): Promise<KeyspaceLayout | null> {
  const rs = await client.execute(`SELECT value FROM ${ks}.meta WHERE key = 'layout'`);
  const row = rs.first();
  if (row === null) return null;
  const v = JSON.parse(String(row.get('value'))) as { schema_version: number; bucket_s: number; shards: number };
  if (v.schema_version !== CASSANDRA_SCHEMA_VERSION) {
    throw new PipelineError(
      'PCS_STORE_OPEN',
      `keyspace ${ks} has pcapstream schema version ${v.schema_version}, this pcapstream uses ${CASSANDRA_SCHEMA_VERSION}; use another keyspace`,
    );
  }
  return { bucketS: v.bucket_s, shards: v.shards };
}

export const DAY_US = 86_400_000_000;

/** The shard of a flow: from its uid's last hex digits, so every writer agrees. */
export function flowShard(uid: string, shards: number): number {
  return shards === 1 ? 0 : Number.parseInt(uid.slice(-6), 16) % shards;
}
