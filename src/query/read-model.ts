/**
 * The read model over the store, shared by `pcapstream query` and the dashboard's HTTP API.
 *
 * Two ways in:
 * - `ReadModel.open(path)`, in a process of its own: opens the file READ_ONLY, without file
 *   access, extension loading or setting changes. DuckDB lets one process write a file, so
 *   while a `run` holds it this fails with `PCS_STORE_OPEN` and a pointer to the dashboard.
 * - `ReadModel.ofStore(store)`, inside the writing process: a second connection to the same
 *   database (the writer already turned file access off and locked the configuration).
 *
 * Every argument is untrusted (it may come from an HTTP query string): numbers are validated
 * and limits clamped, values are bound as parameters and never spliced into SQL. Invalid
 * arguments throw `PCS_USAGE`.
 *
 * Ad hoc SQL (`query`) accepts exactly one SELECT-like statement: SELECT, WITH ... SELECT,
 * FROM ..., VALUES, DESCRIBE, SHOW, SUMMARIZE, PIVOT/UNPIVOT with explicit values, and EXPLAIN
 * (ANALYZE) of those. DuckDB itself is the judge: it splits the text into statements, prepares
 * the statement and reports its type, and serializes it so every function and table it names
 * can be checked; file access is off in the database itself, so anything the checks miss still
 * cannot read files. Refusals throw `PCS_QUERY_REFUSED`; invalid SQL, errors and the time limit
 * throw `PCS_QUERY`. Results are plain JSON values: BIGINT/HUGEINT as numbers when exact, else
 * strings; timestamps as ISO 8601 text with microseconds; lists, structs and maps as arrays and
 * objects.
 */
import {
  BIGINT,
  DuckDBArrayValue,
  type DuckDBConnection,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBInstance,
  DuckDBListValue,
  DuckDBMapValue,
  type DuckDBPreparedStatement,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBType,
  DuckDBUnionValue,
  type DuckDBValue,
  INTEGER,
  StatementType,
  VARCHAR,
} from '@duckdb/node-api';
import { PipelineError } from '../core/errors.ts';
import { MAX_DATE_MS } from '../decode/format.ts';
import type { FlowRecord, MetricWindow, TopEntry } from '../flow/records.ts';
import type { DuckDBStore } from '../sinks/db/duckdb-store.ts';
import { INTERNAL_FUNCTION_PREFIX, READ_ONLY_DUCKDB_CONFIG, storeOpenError, verifySchema } from '../sinks/db/schema.ts';
import { FLOW_SCALAR_COLUMNS } from '../sinks/flow-format.ts';

/** Rows `query` returns when not told. */
export const DEFAULT_QUERY_ROWS = 10_000;
/** Most rows `query` returns whatever it is asked. */
export const MAX_QUERY_ROWS = 1_000_000;
/** Time limit of one ad hoc query unless configured. */
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;
/** Longest SQL text accepted. */
export const MAX_SQL_LENGTH = 100_000;

/** Result of an ad hoc query. */
export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  /** True when the query had more rows than the limit. */
  truncated: boolean;
}

/** Totals of one run, latest record per flow. */
export interface StoreSummary {
  flows: number;
  packets: number;
  bytes: number;
  first_us: number | null;
  last_us: number | null;
  anomalies: number;
  by_protocol: { protocol: string; flows: number; packets: number; bytes: number }[];
}

/** Options of `ReadModel.open`. */
export interface ReadModelOptions {
  /** Time limit of each ad hoc query, ms. Default 30 s. */
  timeoutMs?: number;
  /** Run the helpers read; default the latest run in the file. */
  runId?: number;
}

/** Flow fields without the feature vector. */
export type FlowRow = Omit<FlowRecord, 'features'>;

/** Functions refused by name: dynamic SQL, state changes, secrets, file readers. */
const REFUSED_FUNCTIONS = new Set([
  'query',
  'query_table',
  'json_execute_serialized_sql',
  'checkpoint',
  'force_checkpoint',
  'getenv',
  'nextval',
  'setval',
  'glob',
  'csv_scan',
  'duckdb_secrets',
  'which_secret',
  'enable_logging',
  'disable_logging',
  'truncate_duckdb_logs',
]);
/** Prefixes of file-reading (and foreign-database) functions. */
const REFUSED_PREFIXES = ['read_', 'parquet_', 'sniff_', 'iceberg_', 'delta_', 'sqlite_', 'postgres_', 'mysql_'];

const STATEMENT_NAMES: Record<number, string> = {
  [StatementType.INSERT]: 'INSERT',
  [StatementType.UPDATE]: 'UPDATE',
  [StatementType.DELETE]: 'DELETE',
  [StatementType.CREATE]: 'CREATE',
  [StatementType.DROP]: 'DROP',
  [StatementType.ALTER]: 'ALTER',
  [StatementType.COPY]: 'COPY',
  [StatementType.ATTACH]: 'ATTACH',
  [StatementType.DETACH]: 'DETACH',
  [StatementType.EXPORT]: 'EXPORT DATABASE',
  [StatementType.LOAD]: 'INSTALL/LOAD',
  [StatementType.EXTENSION]: 'INSTALL/LOAD',
  [StatementType.SET]: 'SET/RESET/USE',
  [StatementType.VARIABLE_SET]: 'SET VARIABLE',
  [StatementType.PRAGMA]: 'PRAGMA',
  [StatementType.TRANSACTION]: 'BEGIN/COMMIT/ROLLBACK',
  [StatementType.CALL]: 'CALL',
  [StatementType.VACUUM]: 'VACUUM',
  [StatementType.ANALYZE]: 'ANALYZE',
  [StatementType.PREPARE]: 'PREPARE',
  [StatementType.EXECUTE]: 'EXECUTE',
  [StatementType.CREATE_FUNC]: 'CREATE FUNCTION',
  [StatementType.COPY_DATABASE]: 'COPY DATABASE',
  [StatementType.MERGE_INTO]: 'MERGE INTO',
  [StatementType.UPDATE_EXTENSIONS]: 'UPDATE EXTENSIONS',
};

const ACCEPTED = 'accepted: one SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE or EXPLAIN statement';

function refused(what: string): PipelineError {
  return new PipelineError('PCS_QUERY_REFUSED', `query refused: ${what} (the store is read-only; ${ACCEPTED})`);
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg
    .replace(/^Failed to extract statements: /, '')
    .split('\n')[0]!
    .slice(0, 500);
}

/** A DuckDB error while checking or running ad hoc SQL, as a refusal or a query error. */
function queryError(err: unknown, timeoutMs: number, timedOut: boolean): PipelineError {
  const msg = firstLine(err);
  if (timedOut || /INTERRUPT/i.test(msg)) {
    return new PipelineError('PCS_QUERY', `query stopped: it ran longer than ${timeoutMs / 1000} s`, { cause: err });
  }
  if (/^Permission Error/i.test(msg) || /file system operations are disabled/i.test(msg)) {
    return new PipelineError('PCS_QUERY_REFUSED', `query refused: file access is not allowed (${msg})`, { cause: err });
  }
  if (/lock_configuration|configuration has been locked/i.test(msg)) {
    return new PipelineError('PCS_QUERY_REFUSED', `query refused: settings cannot be changed (${msg})`, { cause: err });
  }
  return new PipelineError('PCS_QUERY', `query failed: ${msg}`, { cause: err });
}

/** Every function name and base-table name in a serialized statement. */
function collectNames(node: unknown, fns: Set<string>, tables: Set<string>): void {
  if (Array.isArray(node)) {
    for (const x of node) collectNames(x, fns, tables);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const o = node as Record<string, unknown>;
  if (typeof o.function_name === 'string') fns.add(o.function_name.toLowerCase());
  if (o.type === 'BASE_TABLE' && typeof o.table_name === 'string') tables.add(o.table_name);
  for (const v of Object.values(o)) collectNames(v, fns, tables);
}

/** DuckDB's syntax tree of a SELECT (parsing only), or null for other statement kinds. */
async function selectTree(conn: DuckDBConnection, sql: string): Promise<unknown> {
  const r = await conn.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
  const tree = JSON.parse(String(r.getRows()[0]![0])) as { error?: boolean };
  return tree.error === true ? null : tree;
}

/** Refuse a syntax tree that names a refused function or a file. */
function checkTree(tree: unknown): void {
  const fns = new Set<string>();
  const tables = new Set<string>();
  collectNames(tree, fns, tables);
  for (const f of fns) {
    if (f.startsWith(INTERNAL_FUNCTION_PREFIX)) throw refused(`${f}() is internal to the writer`);
    if (REFUSED_FUNCTIONS.has(f)) throw refused(`function ${f}() is not allowed`);
    if (REFUSED_PREFIXES.some((p) => f.startsWith(p))) throw refused(`file function ${f}() is not allowed`);
  }
  for (const t of tables) {
    if (/[/\\:.]/.test(t)) throw refused(`reading files is not allowed ('${t.slice(0, 200)}')`);
  }
}

const EXPLAIN_PREFIX = /^\s*explain\s+(?:analy[sz]e\s+)?/i;

/**
 * Check `sql` with DuckDB and return it prepared, or throw `PCS_QUERY_REFUSED` / `PCS_QUERY`.
 * The names are checked on the parsed tree before anything is bound, so a refused function
 * gets its own message rather than whatever binding it would raise. The caller runs the
 * statement and owns its time limit (interrupting `conn`).
 */
async function prepareGuarded(conn: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  const statements = await conn.extractStatements(sql);
  if (statements.count === 0) throw new PipelineError('PCS_QUERY', 'query failed: no SQL statement given');
  if (statements.count > 1) {
    throw refused(`${statements.count} statements given, send one at a time (PIVOT needs an explicit IN list)`);
  }
  const tree = await selectTree(conn, sql);
  if (tree !== null) checkTree(tree);
  const prepared = await statements.prepare(0);
  const type = prepared.statementType;
  if (type === StatementType.SELECT) {
    // PRAGMA and the like are rewritten into SELECTs that have no plain syntax tree.
    if (tree === null) {
      prepared.destroySync();
      throw refused('this statement form is not accepted (use SHOW or DESCRIBE instead of PRAGMA)');
    }
    return prepared;
  }
  if (type === StatementType.EXPLAIN) {
    const m = EXPLAIN_PREFIX.exec(sql);
    const inner = m === null ? null : await selectTree(conn, sql.slice(m[0].length));
    if (inner === null) {
      prepared.destroySync();
      throw refused('EXPLAIN is accepted only right before a SELECT-like statement');
    }
    checkTree(inner);
    return prepared;
  }
  prepared.destroySync();
  throw refused(`${STATEMENT_NAMES[type] ?? 'this kind of'} statement is not allowed`);
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function bigToPlain(v: bigint): number | string {
  return v >= -SAFE && v <= SAFE ? Number(v) : v.toString();
}

/** ISO 8601 with microseconds, UTC; DuckDB's own text when out of Date's range or infinite. */
function isoMicros(us: bigint, fallback: string): string {
  const sec = us / 1_000_000n - (us % 1_000_000n < 0n ? 1n : 0n);
  const frac = us - sec * 1_000_000n;
  const ms = Number(sec) * 1000;
  if (!(Math.abs(ms) <= MAX_DATE_MS)) return fallback;
  const d = new Date(ms).toISOString(); // ...T12:34:56.000Z
  return `${d.slice(0, -5)}.${frac.toString().padStart(6, '0')}Z`;
}

/**
 * A DuckDB value as plain JSON-compatible data (see the file comment for the mapping).
 * @example
 * toPlain(12n); // 12
 */
export function toPlain(v: DuckDBValue): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return bigToPlain(v);
  if (v instanceof DuckDBTimestampValue || v instanceof DuckDBTimestampTZValue) {
    return v.isFinite ? isoMicros(v.micros, v.toString()) : v.toString();
  }
  if (v instanceof DuckDBTimestampMillisecondsValue) return isoMicros(v.millis * 1000n, v.toString());
  if (v instanceof DuckDBTimestampSecondsValue) return isoMicros(v.seconds * 1_000_000n, v.toString());
  if (v instanceof DuckDBTimestampNanosecondsValue) return isoMicros(v.nanos / 1000n, v.toString());
  if (v instanceof DuckDBDateValue) return v.toString();
  if (v instanceof DuckDBDecimalValue) return v.toDouble();
  if (v instanceof DuckDBListValue || v instanceof DuckDBArrayValue) return v.items.map(toPlain);
  if (v instanceof DuckDBStructValue) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v.entries)) o[k] = toPlain(x);
    return o;
  }
  if (v instanceof DuckDBMapValue) {
    if (v.entries.every((e) => typeof e.key === 'string' || typeof e.key === 'number' || typeof e.key === 'bigint')) {
      const o: Record<string, unknown> = {};
      for (const e of v.entries) o[String(e.key)] = toPlain(e.value);
      return o;
    }
    return v.entries.map((e) => ({ key: toPlain(e.key), value: toPlain(e.value) }));
  }
  if (v instanceof DuckDBUnionValue) return toPlain(v.value);
  return v.toString();
}

function usage(msg: string): PipelineError {
  return new PipelineError('PCS_USAGE', msg);
}

/** An integer option clamped into [min, max]; not an integer is an error. */
function clampInt(name: string, v: unknown, min: number, max: number, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw usage(`${name} must be a whole number`);
  return Math.min(max, Math.max(min, v));
}

/** An integer option that must lie in [min, max]. */
function strictInt(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw usage(`${name} must be a whole number from ${min} to ${max}`);
  }
  return v;
}

/** A microsecond time option: absent, or a finite number >= 0 (fractions dropped). */
function sinceUs(v: unknown): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 9.2e18) {
    throw usage('since_us must be a time in microseconds since the epoch');
  }
  return BigInt(Math.floor(v));
}

const TOP_COLUMNS = { talkers: 'top_talkers', ports: 'top_ports', conversations: 'top_conversations' } as const;

const FLOW_SELECT = FLOW_SCALAR_COLUMNS.map((c) => `"${c}"`).join(', ');

/**
 * `select` over the latest record of each flow of run `$run` passing `filters` (see the
 * `flows_latest` view): the final records, plus the newest partial record of each flow that
 * has none. Ranking only the (few) partial records is 3-4x faster than a window over all rows.
 */
function latestFlows(select: string, filters: readonly string[]): string {
  const extra = filters.map((f) => ` AND ${f}`).join('');
  return (
    `SELECT ${select} FROM flows WHERE run_id = $run AND NOT partial${extra} UNION ALL ` +
    `SELECT ${select} FROM (SELECT f.* FROM flows f ANTI JOIN ` +
    '(SELECT flow_id FROM flows WHERE run_id = $run AND NOT partial) d USING (flow_id) ' +
    `WHERE f.run_id = $run AND f.partial${extra} ` +
    'QUALIFY row_number() OVER (PARTITION BY f.flow_id ORDER BY f.last_seen_us DESC) = 1)'
  );
}

/** Where the helpers' connection and ad hoc connections come from. */
interface Source {
  instance: DuckDBInstance;
  /** The attached database the store lives in, made current on every connection (null: the instance's own). */
  database: string | null;
  /** Close the instance with the read model (opened by `open`). */
  owned: boolean;
  path: string;
}

/** A new connection of `source`, on the store's database. */
async function connectTo(source: Source): Promise<DuckDBConnection> {
  const conn = await source.instance.connect();
  if (source.database !== null) {
    try {
      await conn.run(`USE ${source.database}`);
    } catch (err) {
      conn.closeSync();
      throw err;
    }
  }
  return conn;
}

/** Read models made by `ReadModel.ofStore`, one per store. */
const storeReaders = new WeakMap<DuckDBStore, ReadModel>();

/**
 * Read access to a store. See the file comment; `ReadModel.open` or `ReadModel.ofStore(store)`.
 * @example
 * const rm = await ReadModel.open('pcapstream.duckdb');
 * const top = await rm.top({ kind: 'talkers', window_s: 60, n: 5 });
 * await rm.close();
 */
export class ReadModel {
  private readonly source: Source;
  private readonly timeoutMs: number;
  private run: number | null;
  private conn: Promise<DuckDBConnection> | null = null;
  /** Helper queries share one connection, one at a time. */
  private lane: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(source: Source, runId: number | null, timeoutMs: number) {
    this.source = source;
    this.run = runId;
    this.timeoutMs = timeoutMs;
  }

  /**
   * Open a store file read-only (another process). Fails with `PCS_STORE_OPEN` when the file is
   * missing, held by a running `pcapstream run`, not a store, or of another schema version.
   * @example
   * const rm = await ReadModel.open('pcapstream.duckdb');
   * const { rows } = await rm.query('SELECT count(*) FROM flows_latest');
   * await rm.close();
   */
  static async open(path: string, options: ReadModelOptions = {}): Promise<ReadModel> {
    const timeoutMs = clampInt('timeoutMs', options.timeoutMs, 1, 24 * 3600_000, DEFAULT_QUERY_TIMEOUT_MS);
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, { ...READ_ONLY_DUCKDB_CONFIG });
    } catch (err) {
      throw storeOpenError(path, err, true);
    }
    try {
      const conn = await instance.connect();
      try {
        await verifySchema(conn, path);
        let runId = options.runId ?? null;
        if (runId === null) {
          const r = await conn.runAndReadAll('SELECT max(run_id)::INTEGER FROM runs');
          runId = (r.getRows()[0]?.[0] as number | null) ?? null;
        }
        const rm = new ReadModel({ instance, database: null, owned: true, path }, runId, timeoutMs);
        rm.conn = Promise.resolve(conn);
        return rm;
      } catch (err) {
        conn.closeSync();
        throw err;
      }
    } catch (err) {
      instance.closeSync();
      throw err;
    }
  }

  /**
   * A read model on a second connection of a writing store's database (the dashboard's, inside
   * `run`); its helpers read that store's run. The same object for the same store; closed with it.
   * @example
   * const dash = await startDashboard({ readModel: ReadModel.ofStore(store), health });
   */
  static ofStore(store: DuckDBStore): ReadModel {
    const known = storeReaders.get(store);
    if (known !== undefined) return known;
    let rm: ReadModel | undefined;
    const db = store.shareDatabase(async () => {
      await rm?.close();
    });
    rm = ReadModel.fromInstance(db);
    storeReaders.set(store, rm);
    return rm;
  }

  /**
   * A read model on an open database (the writer's): `database` names the attached database
   * the store is in (default: the instance's own); helpers read `runId`.
   * @example
   * const rm = ReadModel.fromInstance({ instance, database: 'store', runId: 1, path: ':memory:' });
   */
  static fromInstance(
    db: { instance: DuckDBInstance; database?: string; runId: number; path: string },
    timeoutMs?: number,
  ): ReadModel {
    return new ReadModel(
      { instance: db.instance, database: db.database ?? null, owned: false, path: db.path },
      db.runId,
      clampInt('timeoutMs', timeoutMs, 1, 24 * 3600_000, DEFAULT_QUERY_TIMEOUT_MS),
    );
  }

  /** The run the helpers read (null in a store with no run yet). */
  get runId(): number | null {
    return this.run;
  }

  /**
   * Run one read-only SQL statement with a row and a time limit.
   * @example
   * const r = await rm.query("SELECT src_ip, sum(fwd_bytes) AS b FROM flows_latest GROUP BY 1 ORDER BY b DESC LIMIT 5");
   * // r.columns: ['src_ip', 'b'], r.rows: [['10.0.0.1', 123456], ...], r.truncated: false
   */
  async query(sql: string, opts: { maxRows?: number } = {}): Promise<QueryResult> {
    this.assertOpen();
    if (typeof sql !== 'string' || sql.trim() === '') throw new PipelineError('PCS_QUERY', 'query failed: empty SQL');
    if (sql.length > MAX_SQL_LENGTH) throw refused(`SQL longer than ${MAX_SQL_LENGTH} characters`);
    const maxRows = clampInt('maxRows', opts.maxRows, 1, MAX_QUERY_ROWS, DEFAULT_QUERY_ROWS);
    // A connection of its own: interrupting it on timeout touches no other query.
    const conn = await connectTo(this.source);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      conn.interrupt();
    }, this.timeoutMs);
    try {
      const prepared = await prepareGuarded(conn, sql);
      try {
        const reader = await prepared.streamAndReadUntil(maxRows + 1);
        const columns = reader.columnNames();
        const all = reader.getRows();
        const rows = all.slice(0, maxRows).map((r) => r.map(toPlain));
        return { columns, rows, truncated: all.length > maxRows };
      } finally {
        prepared.destroySync();
      }
    } catch (err) {
      if (err instanceof PipelineError) throw err;
      throw queryError(err, this.timeoutMs, timedOut);
    } finally {
      clearTimeout(timer);
      conn.closeSync();
    }
  }

  /**
   * Totals of the run: flows (latest record of each), packets, bytes, time span, anomalies,
   * and the same per protocol name (most flows first).
   * @example
   * const s = await rm.summary(); // { flows: 1240, packets: 20000, ..., by_protocol: [...] }
   */
  async summary(): Promise<StoreSummary> {
    return this.helper(async (conn) => {
      const empty: StoreSummary = {
        flows: 0,
        packets: 0,
        bytes: 0,
        first_us: null,
        last_us: null,
        anomalies: 0,
        by_protocol: [],
      };
      if (this.run === null) return empty;
      const r = await conn.runAndReadAll(
        `WITH f AS (${latestFlows('protocol_name, fwd_packets + bwd_packets AS p, fwd_bytes + bwd_bytes AS b, first_seen_us, last_seen_us', [])}) ` +
          'SELECT GROUPING(protocol_name)::INTEGER AS total, protocol_name, count(*)::DOUBLE, ' +
          'coalesce(sum(p), 0)::DOUBLE, coalesce(sum(b), 0)::DOUBLE, min(first_seen_us)::DOUBLE, max(last_seen_us)::DOUBLE ' +
          'FROM f GROUP BY ROLLUP (protocol_name) ORDER BY total DESC, 3 DESC, protocol_name',
        { run: this.run },
        { run: INTEGER },
      );
      const a = await conn.runAndReadAll(
        'SELECT count(*)::DOUBLE FROM anomalies WHERE run_id = $run',
        { run: this.run },
        {
          run: INTEGER,
        },
      );
      const out = empty;
      out.anomalies = a.getRows()[0]![0] as number;
      for (const row of r.getRows()) {
        const [total, protocol, flows, packets, bytes, first, last] = row as [
          number,
          string | null,
          number,
          number,
          number,
          number | null,
          number | null,
        ];
        if (total === 1) {
          out.flows = flows;
          out.packets = packets;
          out.bytes = bytes;
          out.first_us = first;
          out.last_us = last;
        } else {
          out.by_protocol.push({ protocol: protocol ?? '', flows, packets, bytes });
        }
      }
      return out;
    });
  }

  /**
   * Closed metric windows of one length, oldest first: those starting at or after `since_us`
   * (default: from the first), at most `limit` (1..10000, default 3600).
   * @example
   * const last = await rm.metrics({ window_s: 1, since_us: Date.now() * 1000 - 60e6 });
   */
  async metrics(o: { window_s: number; since_us?: number; limit?: number }): Promise<MetricWindow[]> {
    const window = strictInt('window_s', o?.window_s, 1, 86_400);
    const since = sinceUs(o.since_us);
    const limit = clampInt('limit', o.limit, 1, 10_000, 3600);
    return this.helper(async (conn) => {
      if (this.run === null) return [];
      // Nested columns come back as JSON text: one JSON.parse each beats building DuckDB value objects.
      const r = await conn.runAndReadAll(
        'SELECT window_s, start_us::DOUBLE, packets::DOUBLE, bytes::DOUBLE, to_json(protocols)::VARCHAR, ' +
          'new_flows::DOUBLE, ended_flows::DOUBLE, tcp_syn::DOUBLE, tcp_rst::DOUBLE, dns_queries::DOUBLE, ' +
          'dns_nxdomain::DOUBLE, to_json(anomalies)::VARCHAR, to_json(top_talkers)::VARCHAR, ' +
          'to_json(top_ports)::VARCHAR, to_json(top_conversations)::VARCHAR, to_json(losses)::VARCHAR FROM metrics ' +
          'WHERE run_id = $run AND window_s = $w AND start_us >= $since ORDER BY start_us LIMIT $limit',
        { run: this.run, w: window, since, limit },
        { run: INTEGER, w: INTEGER, since: BIGINT, limit: BIGINT },
      );
      const parse = <T>(x: unknown, dflt: T): T => (typeof x === 'string' ? (JSON.parse(x) as T) : dflt);
      return r.getRows().map((v) => {
        const n = (i: number) => (v[i] ?? 0) as number;
        return {
          window_s: n(0),
          start_us: n(1),
          packets: n(2),
          bytes: n(3),
          protocols: parse(v[4], {}),
          new_flows: n(5),
          ended_flows: n(6),
          tcp_syn: n(7),
          tcp_rst: n(8),
          dns_queries: n(9),
          dns_nxdomain: n(10),
          anomalies: parse(v[11], {}),
          top_talkers: parse<TopEntry[]>(v[12], []),
          top_ports: parse<TopEntry[]>(v[13], []),
          top_conversations: parse<TopEntry[]>(v[14], []),
          losses: parse(v[15], {}),
        };
      });
    });
  }

  /**
   * Flows of the run, newest (last seen) first, one row per flow (its latest record), filtered
   * by protocol (name or number), address or port on either side, and last activity.
   * @example
   * const page = await rm.flows({ protocol: 'tcp', port: 443, limit: 50 });
   */
  async flows(o: {
    limit?: number;
    offset?: number;
    protocol?: string;
    ip?: string;
    port?: number;
    since_us?: number;
  }): Promise<FlowRow[]> {
    const limit = clampInt('limit', o?.limit, 1, 1000, 50);
    const offset = clampInt('offset', o.offset, 0, 10_000_000, 0);
    const params: Record<string, DuckDBValue> = { run: this.run, limit, offset };
    const types: Record<string, DuckDBType> = { run: INTEGER, limit: BIGINT, offset: BIGINT };
    const where: string[] = [];
    if (o.protocol !== undefined) {
      const p = typeof o.protocol === 'string' ? o.protocol.trim().toLowerCase() : '';
      if (!/^[a-z0-9_]{1,16}$/.test(p)) throw usage('protocol must be a protocol name or number');
      where.push('(protocol_name = $proto OR CAST(protocol AS VARCHAR) = $proto)');
      params.proto = p;
      types.proto = VARCHAR;
    }
    if (o.ip !== undefined) {
      const ip = typeof o.ip === 'string' ? o.ip.trim().toLowerCase() : '';
      if (!/^[0-9a-z:.%_-]{1,64}$/.test(ip)) throw usage('ip must be an IPv4 or IPv6 address');
      where.push('(src_ip = $ip OR dest_ip = $ip)');
      params.ip = ip;
      types.ip = VARCHAR;
    }
    if (o.port !== undefined) {
      params.port = strictInt('port', o.port, 0, 65_535);
      types.port = INTEGER;
      where.push('(src_port = $port OR dest_port = $port)');
    }
    if (o.since_us !== undefined) {
      params.since = sinceUs(o.since_us);
      types.since = BIGINT;
      where.push('last_seen_us >= $since');
    }
    return this.helper(async (conn) => {
      if (this.run === null) return [];
      const r = await conn.runAndReadAll(
        `${latestFlows(FLOW_SELECT, where)} ORDER BY last_seen_us DESC, flow_id DESC LIMIT $limit OFFSET $offset`,
        params,
        types,
      );
      return r.getRows().map((row) => {
        const rec: Record<string, unknown> = {};
        for (let i = 0; i < FLOW_SCALAR_COLUMNS.length; i++) rec[FLOW_SCALAR_COLUMNS[i]!] = toPlain(row[i]!);
        return rec as unknown as FlowRow;
      });
    });
  }

  /**
   * A top list merged over the run's windows of one length (sums of each window's top-N, so
   * keys that were never in a window's top N are missing): most packets first.
   * @example
   * const talkers = await rm.top({ kind: 'talkers', window_s: 60, n: 10 });
   */
  async top(o: {
    kind: 'talkers' | 'ports' | 'conversations';
    window_s: number;
    since_us?: number;
    n?: number;
  }): Promise<TopEntry[]> {
    const kind = o?.kind;
    if (typeof kind !== 'string' || !Object.hasOwn(TOP_COLUMNS, kind)) {
      throw usage('kind must be talkers, ports or conversations');
    }
    const column = TOP_COLUMNS[kind];
    const window = strictInt('window_s', o.window_s, 1, 86_400);
    const since = sinceUs(o.since_us);
    const n = clampInt('n', o.n, 1, 100, 10);
    return this.helper(async (conn) => {
      if (this.run === null) return [];
      const r = await conn.runAndReadAll(
        "SELECT struct_extract(e, 'key') AS k, sum(struct_extract(e, 'packets'))::DOUBLE AS p, " +
          "sum(struct_extract(e, 'bytes'))::DOUBLE AS b " +
          `FROM (SELECT unnest(${column}) AS e FROM metrics WHERE run_id = $run AND window_s = $w AND start_us >= $since) ` +
          'GROUP BY k ORDER BY p DESC, b DESC, k LIMIT $n',
        { run: this.run, w: window, since, n },
        { run: INTEGER, w: INTEGER, since: BIGINT, n: BIGINT },
      );
      return r.getRows().map(([key, packets, bytes]) => ({
        key: String(key),
        packets: packets as number,
        bytes: bytes as number,
      }));
    });
  }

  /**
   * Anomalous packets of the run by code, most frequent first, with the last time seen.
   * @example
   * const a = await rm.anomalies({ limit: 20 }); // [{ code: 'ipv4.checksum_invalid', count: 3, last_us: ... }]
   */
  async anomalies(o: { limit?: number } = {}): Promise<{ code: string; count: number; last_us: number }[]> {
    const limit = clampInt('limit', o?.limit, 1, 1000, 100);
    return this.helper(async (conn) => {
      if (this.run === null) return [];
      const r = await conn.runAndReadAll(
        'SELECT code, count(*)::DOUBLE AS n, max(ts_us)::DOUBLE FROM anomalies WHERE run_id = $run ' +
          'GROUP BY code ORDER BY n DESC, code LIMIT $limit',
        { run: this.run, limit },
        { run: INTEGER, limit: BIGINT },
      );
      return r.getRows().map(([code, count, last]) => ({
        code: String(code),
        count: count as number,
        last_us: last as number,
      }));
    });
  }

  /**
   * Close the connections (and the database when this read model opened it). Idempotent.
   * @example
   * await rm.close();
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lane.catch(() => undefined);
    if (this.conn !== null) {
      try {
        (await this.conn).closeSync();
      } catch {
        // It never opened.
      }
    }
    if (this.source.owned) this.source.instance.closeSync();
  }

  private assertOpen(): void {
    if (this.closed) throw new PipelineError('PCS_QUERY', 'the store is closed');
  }

  /** Run `fn` on the helpers' connection after the helper calls before it. */
  private helper<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    this.assertOpen();
    this.conn ??= connectTo(this.source);
    const conn = this.conn;
    const next = this.lane.then(async () => fn(await conn));
    this.lane = next.catch(() => undefined);
    return next;
  }
}
