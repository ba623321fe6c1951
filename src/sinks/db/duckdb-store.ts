/**
 * The embedded store: flows, metric windows, anomalies and (optionally) packets in one DuckDB
 * file. Schema and versioning: `schema.ts` and docs/store.md.
 *
 * Contract
 * - `addFlow`, `addMetrics`, `addAnomaly`, `addPacket` are synchronous and cheap: they copy the
 *   record's numbers into typed columns of the current batch (2048 rows, DuckDB's vector size)
 *   and keep its strings. The caller may reuse nothing it passed: records are plain data and
 *   only their values are read, during the call.
 * - `tick()` is meant for after every input chunk. It starts a background write when a batch is
 *   full or rows have waited `maxDelayMs`, commits every `commitIntervalMs`, and returns a
 *   promise only when the caller should wait: more than `highWaterRows` rows are queued while
 *   DuckDB is still busy. It never waits for durability, so decoding overlaps the writes.
 * - `flush()` writes and commits everything added so far; it resolves when it is durable in the
 *   file (or the WAL); it costs a commit, so it is for the end of input and signals, not for
 *   every chunk. `close()` flushes, checkpoints and closes. `onCommit` listeners run after each
 *   commit (the dashboard's cue that new rows are readable).
 * - Memory: the queued batches, bounded by `tick()`'s back-pressure, plus one write in flight.
 * - Failure: opening fails at once (`PCS_STORE_OPEN`) if the file cannot be opened, is held by
 *   another process, is not a pcapstream store, or has another schema version. A failed write
 *   rolls back the open transaction; its rows are counted in `stats.dropped`, later adds are
 *   still accepted, and `flush()`/`close()` reject with `PCS_SINK_WRITE`.
 *
 * How rows reach DuckDB (measured with bench/store.ts, 110k flows of 103 columns):
 * - The appender, row by row or with data chunks, runs DuckDB's insert on the calling thread:
 *   12-84 µs per flow on the main thread.
 * - Here each table has an internal table function, and a write is one prepared
 *   `INSERT ... SELECT` over it, run asynchronously on the libuv pool. DuckDB calls the scan
 *   back on the JS thread once per 2048-row batch; the callback hands over whole typed-array
 *   columns (one memcpy each, through `@duckdb/node-bindings`, the binding `@duckdb/node-api` is
 *   built on) so the main thread pays ~1.3 µs per flow and DuckDB's insert, casts and commit run
 *   beside it. Strings would cost a native call each (~200 ns); instead each text column of a
 *   write travels as one bound VARCHAR, joined with U+001E, that the INSERT splits and lines up
 *   with the scan by `POSITIONAL JOIN`.
 * - Commits are grouped (one per `commitIntervalMs`, or at each `ROW_GROUP_ROWS`-th flow when
 *   flows come faster): each costs milliseconds whatever its size, and DuckDB is configured with
 *   one thread, the core that decoding leaves free.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  DOUBLE,
  type DuckDBConnection,
  type DuckDBDataChunk,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  DuckDBTableFunction,
  type DuckDBTableFunctionInfo,
} from '@duckdb/node-api';
import { isPipelineError, PipelineError } from '../../core/errors.ts';
import { LAYER_IPV4, LAYER_IPV6, LAYER_TCP, layerBit } from '../../core/layers.ts';
import type { PacketContext } from '../../core/packet.ts';
import type { RecordStore } from '../../core/store.ts';
import { formatIPv4, formatIPv6 } from '../../decode/format.ts';
import { CIC_FEATURES } from '../../flow/cic-features.ts';
import {
  END_REASONS,
  P_BWD_BYTES,
  P_BWD_PACKETS,
  P_BWD_PAYLOAD,
  P_FEATURES,
  P_FIRST_US,
  P_FLOW_ID,
  P_FWD_BYTES,
  P_FWD_PACKETS,
  P_FWD_PAYLOAD,
  P_HAS_FEATURES,
  P_LAST_US,
  P_PARTIAL,
  P_REASON,
  PackedEndpoints,
} from '../../flow/packed-flow.ts';
import { protocolName } from '../../flow/protocols.ts';
import {
  type AnomalyRecord,
  FLOW_TEXT_FIELDS,
  type FlowRecord,
  METRIC_COUNT_FIELDS,
  METRIC_NESTED_FIELDS,
  type MetricWindow,
} from '../../flow/records.ts';
import { FLOW_SCALAR_COLUMNS } from '../flow-format.ts';
import {
  ANOMALIES_TABLE,
  COUNTER_MAP_TYPE,
  FLOWS_TABLE,
  INTERNAL_FUNCTION_PREFIX,
  METRICS_TABLE,
  migrateSchema,
  PACKETS_TABLE,
  PROTOCOL_MAP_TYPE,
  SCHEMA_VERSION,
  schemaDDL,
  storeOpenError,
  type TableDef,
  TOP_LIST_TYPE,
  verifySchema,
} from './schema.ts';

export { DEFAULT_STORE_PATH, SCHEMA_VERSION } from './schema.ts';

/** The raw binding, loaded through `@duckdb/node-api` so both share one native module. */
const ddb = createRequire(import.meta.resolve('@duckdb/node-api'))(
  '@duckdb/node-bindings',
) as typeof import('@duckdb/node-bindings');

/** Options of `openDuckDBStore`: plain data. */
export interface StoreOptions {
  /** Database file, created if missing; `:memory:` for a throw-away store (tests). */
  path: string;
  /** Accept `addPacket` rows (the `packets` table); off by default (one row per packet is costly). */
  packets?: boolean;
  /** Recorded in `runs.label` (the input name, say). */
  label?: string;
  /** Commit this often while rows arrive, and at each `ROW_GROUP_ROWS`-th flow; the dashboard sees rows after their commit. Default 1000. */
  commitIntervalMs?: number;
  /** Write a batch that is not full once its first row waited this long. Default 1000. */
  maxDelayMs?: number;
  /** `tick()` asks the caller to wait while more rows than this are queued. Default 32768 (~25 MB of flows). */
  highWaterRows?: number;
  /**
   * WAL size that makes DuckDB checkpoint during the run (DuckDB size text). Default '64MB'.
   * A checkpoint rewrites the whole of every row group that took rows since the last one (a
   * row group holds 122,880 rows: more than the flows of a 1 GB capture), so frequent
   * checkpoints rewrite the same flows again and again: with '16MB' a `run` over a 1 GB capture
   * spent ~0.5 s more CPU and took ~0.4 s longer. A much larger value leaves more uncheckpointed
   * rows in memory (and in the WAL to replay after a crash) for little further gain.
   */
  checkpointThreshold?: string;
  /**
   * DuckDB's memory limit (DuckDB size text). Default '256MB': DuckDB otherwise lets its buffer
   * pool grow towards 80 % of RAM while rows stream in (a 1 GB capture took the process from
   * ~580 MB to ~770 MB at peak), and the store never needs that much.
   */
  memoryLimit?: string;
  /**
   * Keep one copy of each flow record however often it is added: a unique index on
   * (flow_uid, partial, last_seen_us) and INSERT OR IGNORE. For the sink role, whose input may
   * deliver a record twice after a crash. Off by default (the index costs insert time).
   */
  dedupeFlows?: boolean;
}

/** Counters for the health panel. Rows count once committed. */
export interface StoreStats {
  flows: number;
  metrics: number;
  anomalies: number;
  packets: number;
  /** Rows lost to failed writes; stays 0 unless the disk or DuckDB fails. */
  dropped: number;
  /** Rows added but not yet committed. */
  pending: number;
  /** Commits done. */
  flushes: number;
  /** Wall time spent in writes and commits (on DuckDB's side, overlapping decoding), ms. */
  flush_ms: number;
}

/** Rows per batch: one DuckDB data chunk. */
const CAP = 2048;
/**
 * Rows per row group of the store's tables (DuckDB's default is 122,880), a whole number of
 * batches. A transaction that appends a whole row group has DuckDB compress and write it at
 * commit, beside decoding; a partial one goes to the WAL and is compressed again at every
 * checkpoint until it is full. With row groups this size and commits on their boundaries the
 * final checkpoint of a `run` has little left to do (docs/store.md).
 */
const ROW_GROUP_BATCHES = 8;
export const ROW_GROUP_ROWS = ROW_GROUP_BATCHES * CAP;
/** The name the store's file is attached under (each store has a DuckDB instance of its own). */
export const STORE_DATABASE = 'store';
/** Separator of the texts of one column inside its bound VARCHAR; none of our texts holds it. */
const RS = '\x1e';
const ALL_VALID = new BigUint64Array(CAP / 64).fill(0xffffffffffffffffn);

/** Columns of one staged batch. */
class Batch {
  n = 0;
  /** Rows whose block (features) is NULL. */
  absent = 0;
  /** performance.now() when the first row came. */
  bornMs = 0;
  /** Numeric columns, column-major: column k at [k * CAP, k * CAP + n). */
  readonly num: Float64Array;
  /** Row-major block (CIC features): row i at [i * width, (i + 1) * width). */
  readonly block: Float64Array;
  /** 1 when the row's block is present, 0 for NULL. */
  readonly present: Uint8Array;
  readonly text: string[][];

  constructor(nums: number, width: number, texts: number) {
    this.num = new Float64Array(nums * CAP);
    this.block = new Float64Array(width * CAP);
    this.present = new Uint8Array(width > 0 ? CAP : 0);
    this.text = Array.from({ length: texts }, () => []);
  }
}

/** How a table is staged: its columns split into numbers, a row-major block and texts. */
interface StageLayout {
  table: TableDef;
  /** Numeric columns, staged as DOUBLE (integers are exact below 2^53). */
  nums: readonly string[];
  /** Block columns (row-major, one NULL flag per row). */
  block: readonly string[];
  texts: readonly string[];
  /** SQL for each table column over `n.<staged number>` and `s.<text>`; `$run` is replaced by the run id. */
  exprs: Readonly<Record<string, string>>;
}

/** A connection's way into a table: its prepared INSERT, and the batches its scan hands over next. */
interface Lane {
  prepared: DuckDBPreparedStatement | null;
  queue: Batch[] | null;
}

interface ScanState {
  batches: Batch[] | null;
  next: number;
}

/** One table's write path: batches, the internal scan and the prepared INSERT. */
class StagedTable {
  readonly name: string;
  cur: Batch;
  private readonly layout: StageLayout;
  private readonly full: Batch[] = [];
  private readonly spare: Batch[] = [];
  /** One prepared INSERT and its scan per connection that writes this table. */
  private readonly lanes: Lane[] = [];
  private readonly scratch: Float64Array;
  private readonly mask = new BigUint64Array(CAP / 64);
  private readonly maskBytes = new Uint8Array(this.mask.buffer);
  /** INSERT OR IGNORE: rows a unique index already holds are skipped (the sink's dedupe). */
  readonly orIgnore: boolean;

  constructor(layout: StageLayout, orIgnore = false) {
    this.layout = layout;
    this.orIgnore = orIgnore;
    this.name = layout.table.name;
    this.cur = this.newBatch();
    this.scratch = new Float64Array(layout.block.length * CAP);
  }

  private newBatch(): Batch {
    const l = this.layout;
    return new Batch(l.nums.length, l.block.length, l.texts.length);
  }

  /** Rows added and not yet taken by a write. */
  queued(): number {
    return this.full.length * CAP + this.cur.n;
  }

  /** The batch to add one row to: the current one, or a new one when it is full (birth time set when empty). */
  room(): Batch {
    let b = this.cur;
    if (b.n === CAP) b = this.rotate();
    if (b.n === 0) b.bornMs = performance.now();
    return b;
  }

  /** The current batch is full: queue it and start another. */
  rotate(): Batch {
    this.full.push(this.cur);
    const b = this.spare.pop() ?? this.newBatch();
    this.cur = b;
    return b;
  }

  /** Full batches queued. */
  fullCount(): number {
    return this.full.length;
  }

  hasFull(): boolean {
    return this.full.length > 0;
  }

  /**
   * Full batches (at most `limit` of them), plus the current one when `all` or when it waited
   * `maxDelayMs` and the limit leaves room.
   */
  take(all: boolean, nowMs: number, maxDelayMs: number, limit = Number.POSITIVE_INFINITY): Batch[] {
    const out = this.full.splice(0, all ? this.full.length : limit);
    if (this.cur.n > 0 && (all || (out.length < limit && nowMs - this.cur.bornMs >= maxDelayMs))) {
      out.push(this.cur);
      this.cur = this.spare.pop() ?? this.newBatch();
    }
    return out;
  }

  release(batches: Batch[]): void {
    for (const b of batches) {
      b.n = 0;
      b.absent = 0;
      for (const t of b.text) t.length = 0;
      if (this.spare.length < 4) this.spare.push(b);
    }
  }

  /** Register a scan and prepare the INSERT on a writer connection; returns its lane for `insert`. */
  async attach(conn: DuckDBConnection, runId: number): Promise<number> {
    const l = this.layout;
    const lane: Lane = { prepared: null, queue: null };
    const fn = `${INTERNAL_FUNCTION_PREFIX}${this.name}_${randomBytes(6).toString('hex')}`;
    conn.registerTableFunction(
      DuckDBTableFunction.create({
        name: fn,
        bindFunction: (info) => {
          for (const name of [...l.nums, ...l.block]) info.addResultColumn(name, DOUBLE);
        },
        initFunction: (info) => {
          // Only the INSERT below finds a queue here; any other caller scans nothing.
          const state: ScanState = { batches: lane.queue, next: 0 };
          lane.queue = null;
          info.setInitData(state);
        },
        mainFunction: (info, out) => this.scan(info, out),
      }),
    );
    const cols = l.table.columns.map((c) => c.name);
    const exprs = cols.map((c) => {
      const e = l.exprs[c];
      if (e === undefined) throw new Error(`store: no staging expression for ${this.name}.${c}`);
      return e.replaceAll('$run', String(runId));
    });
    let sql = `INSERT${this.orIgnore ? ' OR IGNORE' : ''} INTO ${this.name} (${cols.map(quote).join(', ')}) SELECT ${exprs.join(', ')} FROM ${fn}() AS n`;
    if (l.texts.length > 0) {
      const unnests = l.texts.map((t, k) => `unnest(string_split($${k + 1}, chr(30))) AS ${quote(t)}`);
      sql += ` POSITIONAL JOIN (SELECT ${unnests.join(', ')}) AS s`;
    }
    lane.prepared = await conn.prepare(sql);
    this.lanes.push(lane);
    return this.lanes.length - 1;
  }

  /** Insert `batches` (inside the caller's transaction) through `lane`'s connection. */
  async insert(batches: Batch[], lane = 0): Promise<void> {
    const ln = this.lanes[lane]!;
    const p = ln.prepared!;
    const rows = rowsOf(batches);
    for (let k = 0; k < this.layout.texts.length; k++) {
      const parts: string[] = [];
      for (const b of batches) parts.push(b.text[k]!.join(RS));
      let joined = parts.join(RS);
      // A separator inside a value would shift every later row: never from our formatters, but
      // checked (one memchr-like scan) and replaced rather than trusted.
      if (countOf(joined, RS) !== rows - 1) {
        joined = batches.map((b) => b.text[k]!.map((t) => t.replaceAll(RS, '\ufffd')).join(RS)).join(RS);
      }
      p.bindVarchar(k + 1, joined);
    }
    ln.queue = batches;
    try {
      await p.run();
    } finally {
      ln.queue = null;
    }
  }

  detach(): void {
    for (const ln of this.lanes.splice(0)) ln.prepared?.destroySync();
  }

  /** DuckDB asks for the next chunk: hand over one batch, whole columns at a time. */
  private scan(info: DuckDBTableFunctionInfo, out: DuckDBDataChunk): void {
    const st = info.initData as ScanState;
    const b = st.batches?.[st.next++];
    if (b === undefined || b.n === 0) {
      out.rowCount = 0;
      return;
    }
    const chunk = out.chunk;
    const n = b.n;
    ddb.data_chunk_set_size(chunk, n);
    const nums = this.layout.nums.length;
    const buf = b.num.buffer as ArrayBuffer;
    for (let k = 0; k < nums; k++) {
      ddb.copy_data_to_vector(ddb.data_chunk_get_vector(chunk, k), 0, buf, k * CAP * 8, n * 8);
    }
    const width = this.layout.block.length;
    if (width === 0) return;
    this.transpose(b, width);
    const validity = b.absent === 0 ? ALL_VALID : this.buildMask(b);
    const words = ((n + 63) >> 6) * 8;
    const sbuf = this.scratch.buffer as ArrayBuffer;
    for (let j = 0; j < width; j++) {
      const vec = ddb.data_chunk_get_vector(chunk, nums + j);
      ddb.copy_data_to_vector(vec, 0, sbuf, j * CAP * 8, n * 8);
      // Always written: DuckDB may hand the same output vectors back with the last mask.
      ddb.vector_ensure_validity_writable(vec);
      ddb.copy_data_to_vector_validity(vec, 0, validity.buffer as ArrayBuffer, 0, words);
    }
  }

  /** Row-major block to column-major scratch, 8 rows at a time so reads and writes stay in cache. */
  private transpose(b: Batch, width: number): void {
    const src = b.block;
    const dst = this.scratch;
    const n = b.n;
    for (let i0 = 0; i0 < n; i0 += 8) {
      const rows = Math.min(8, n - i0);
      for (let j = 0; j < width; j++) {
        const o = j * CAP + i0;
        let s = i0 * width + j;
        for (let i = 0; i < rows; i++, s += width) dst[o + i] = src[s]!;
      }
    }
  }

  private buildMask(b: Batch): BigUint64Array {
    const m = this.maskBytes;
    m.fill(0);
    const present = b.present;
    for (let i = 0; i < b.n; i++) if (present[i] === 1) m[i >> 3]! |= 1 << (i & 7);
    return this.mask;
  }
}

function quote(name: string): string {
  return `"${name}"`;
}

/** `TRY_CAST(n.<name> AS <type>)`: a bad number becomes NULL instead of failing the write. */
function num(name: string, type: string): string {
  return `TRY_CAST(n.${quote(name)} AS ${type})`;
}

function tsOf(name: string): string {
  return `make_timestamp(TRY_CAST(n.${quote(name)} AS BIGINT))`;
}

function text(name: string): string {
  return `s.${quote(name)}`;
}

function json(name: string, type: string): string {
  return `TRY_CAST(TRY_CAST(s.${quote(name)} AS JSON) AS ${type})`;
}

type FlowScalar = (typeof FLOW_SCALAR_COLUMNS)[number];
/** Staged texts of a flow, in batch order (addFlow pushes them in this order). */
const FLOW_TEXTS = FLOW_TEXT_FIELDS;
type FlowNumColumn = Exclude<FlowScalar, (typeof FLOW_TEXTS)[number]>;
/** Staged numbers of a flow: the other scalars, in output order (addFlow writes them by these offsets). */
const FLOW_NUMS = FLOW_SCALAR_COLUMNS.filter((c): c is FlowNumColumn => !(FLOW_TEXTS as readonly string[]).includes(c));
const FEATURE_WIDTH = CIC_FEATURES.length;

function flowLayout(): StageLayout {
  const exprs: Record<string, string> = { run_id: '$run' };
  for (const col of FLOWS_TABLE.columns) {
    if ((FLOW_NUMS as readonly string[]).includes(col.name)) exprs[col.name] = num(col.name, col.type);
    else if ((FLOW_TEXTS as readonly string[]).includes(col.name)) exprs[col.name] = text(col.name);
  }
  exprs.partial = `n.${quote('partial')} <> 0`;
  exprs.first_seen = tsOf('first_seen_us');
  exprs.last_seen = tsOf('last_seen_us');
  for (const f of CIC_FEATURES) exprs[f.name] = `n.${quote(f.name)}`;
  return {
    table: FLOWS_TABLE,
    nums: FLOW_NUMS,
    block: CIC_FEATURES.map((f) => f.name),
    texts: FLOW_TEXTS,
    exprs,
  };
}

/** Staged numbers of a window, in the order addMetrics writes them. */
const METRIC_NUMS = ['window_s', 'start_us', ...METRIC_COUNT_FIELDS] as const;
/** Staged JSON texts of a window, in the order addMetrics pushes them. */
const METRIC_TEXTS = METRIC_NESTED_FIELDS;

function metricLayout(): StageLayout {
  const exprs: Record<string, string> = {
    run_id: '$run',
    start: tsOf('start_us'),
    protocols: json('protocols', PROTOCOL_MAP_TYPE),
    anomalies: json('anomalies', COUNTER_MAP_TYPE),
    top_talkers: json('top_talkers', TOP_LIST_TYPE),
    top_ports: json('top_ports', TOP_LIST_TYPE),
    top_conversations: json('top_conversations', TOP_LIST_TYPE),
    losses: json('losses', COUNTER_MAP_TYPE),
  };
  for (const col of METRICS_TABLE.columns) {
    if ((METRIC_NUMS as readonly string[]).includes(col.name)) exprs[col.name] = num(col.name, col.type);
  }
  return { table: METRICS_TABLE, nums: METRIC_NUMS, block: [], texts: METRIC_TEXTS, exprs };
}

const ANOMALY_NUMS = ['frame_number', 'ts_us', 'protocol'] as const;
const ANOMALY_TEXTS = ['code', 'src_ip', 'dest_ip'] as const;

function anomalyLayout(): StageLayout {
  return {
    table: ANOMALIES_TABLE,
    nums: ANOMALY_NUMS,
    block: [],
    texts: ANOMALY_TEXTS,
    exprs: {
      run_id: '$run',
      frame_number: num('frame_number', 'BIGINT'),
      ts_us: num('ts_us', 'BIGINT'),
      ts: tsOf('ts_us'),
      code: text('code'),
      src_ip: text('src_ip'),
      dest_ip: text('dest_ip'),
      protocol: num('protocol', 'UTINYINT'),
    },
  };
}

const PACKET_NUMS = [
  'frame_number',
  'ts_us',
  'frame_length',
  'captured_length',
  'ip_version',
  'protocol',
  'src4',
  'dst4',
  'src_port',
  'dest_port',
  'tcp_flags',
  'vlan_id',
] as const;
/** IPv6 addresses are formatted here (IPv4 ones by SQL from the number), anomalies joined. */
const PACKET_TEXTS = ['src6', 'dst6', 'anomalies'] as const;

/** Dotted quad of a staged IPv4 number, or the staged IPv6 text, or ''. */
function packetIp(v4: string, v6: string): string {
  const a = `TRY_CAST(n.${quote(v4)} AS UINTEGER)`;
  return (
    `CASE TRY_CAST(n."ip_version" AS UTINYINT) WHEN 4 THEN concat_ws('.', (${a} >> 24) & 255, (${a} >> 16) & 255, ` +
    `(${a} >> 8) & 255, ${a} & 255) WHEN 6 THEN s.${quote(v6)} ELSE '' END`
  );
}

function packetLayout(): StageLayout {
  return {
    table: PACKETS_TABLE,
    nums: PACKET_NUMS,
    block: [],
    texts: PACKET_TEXTS,
    exprs: {
      run_id: '$run',
      frame_number: num('frame_number', 'BIGINT'),
      ts_us: num('ts_us', 'BIGINT'),
      ts: tsOf('ts_us'),
      frame_length: num('frame_length', 'INTEGER'),
      captured_length: num('captured_length', 'INTEGER'),
      ip_version: num('ip_version', 'UTINYINT'),
      protocol: num('protocol', 'UTINYINT'),
      src_ip: packetIp('src4', 'src6'),
      dest_ip: packetIp('dst4', 'dst6'),
      src_port: num('src_port', 'INTEGER'),
      dest_port: num('dest_port', 'INTEGER'),
      tcp_flags: num('tcp_flags', 'USMALLINT'),
      vlan_id: num('vlan_id', 'INTEGER'),
      anomalies: text('anomalies'),
    },
  };
}

// Offsets of the staged flow numbers (column k starts at k * CAP).
const fo = (name: FlowNumColumn): number => FLOW_NUMS.indexOf(name) * CAP;
const F_FLOW_ID = fo('flow_id');
const F_FIRST = fo('first_seen_us');
const F_LAST = fo('last_seen_us');
const F_DURATION = fo('duration_us');
const F_IPV = fo('ip_version');
const F_PROTO = fo('protocol');
const F_SPORT = fo('src_port');
const F_DPORT = fo('dest_port');
const F_VLAN = fo('vlan_id');
const F_FPKT = fo('fwd_packets');
const F_BPKT = fo('bwd_packets');
const F_FBYTES = fo('fwd_bytes');
const F_BBYTES = fo('bwd_bytes');
const F_FPAY = fo('fwd_payload_bytes');
const F_BPAY = fo('bwd_payload_bytes');
const F_FFLAGS = fo('fwd_tcp_flags');
const F_BFLAGS = fo('bwd_tcp_flags');
const F_PARTIAL = fo('partial');

const BIT_IP = layerBit(LAYER_IPV4) | layerBit(LAYER_IPV6);
const BIT_TCP = layerBit(LAYER_TCP);

function noPacket(_p: PacketContext, _tsUs: number): void {}

/**
 * The writer. Create with `openDuckDBStore`; see the file comment for the contract.
 * @example
 * const store = await openDuckDBStore({ path: 'pcapstream.duckdb' });
 * store.addFlow(rec);
 * await store.tick();
 * await store.close();
 */
export class DuckDBStore implements RecordStore {
  readonly kind = 'duckdb';
  readonly schemaVersion = SCHEMA_VERSION;
  /** Id of this writer's run in the `runs` table. */
  readonly runId: number;
  readonly path: string;
  /** The file, for messages (`RecordStore.where`). */
  readonly where: string;
  /**
   * Store a packet's core columns (a no-op unless opened with `packets: true`).
   * @example
   * store.addPacket(p, p.tsSec * 1e6 + Math.floor(p.tsNanos / 1000));
   */
  readonly addPacket: (p: PacketContext, tsUs: number) => void;

  private readonly instance: DuckDBInstance;
  private readonly conn: DuckDBConnection;
  /**
   * A second writer of flows, for a backlog of whole row groups (the flows still open when the
   * input ends, say): each of its writes is one row group in a transaction of its own, beside
   * the main connection's. Null with `dedupeFlows` (two transactions could race on the index).
   */
  private side: DuckDBConnection | null = null;
  private sideLane = -1;
  /** Rows the side connection is writing now (counted as pending). */
  private sideRows = 0;
  private readonly flowsT: StagedTable;
  /** Reads packed flow records for `addPackedFlow` (reused). */
  private readonly endpoints = new PackedEndpoints();
  private readonly metricsT = new StagedTable(metricLayout());
  private readonly anomaliesT = new StagedTable(anomalyLayout());
  private readonly packetsT = new StagedTable(packetLayout());
  private readonly tables: readonly StagedTable[];
  /** Rows inserted in the open transaction, per table (same order as `tables`). */
  private readonly uncommitted: number[];
  private readonly written = { flows: 0, metrics: 0, anomalies: 0, packets: 0 };
  private readonly commitIntervalMs: number;
  private readonly maxDelayMs: number;
  private readonly highWaterRows: number;
  private chain: Promise<void> = Promise.resolve();
  private stepQueued = false;
  private inTxn = false;
  private lastCommitMs = performance.now();
  private commits = 0;
  private writeMs = 0;
  private dropped = 0;
  private failure: PipelineError | null = null;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  /** Closed before the database: readers sharing it (see `shareDatabase`). */
  private readonly readers: (() => Promise<void>)[] = [];
  private readonly commitListeners: (() => void)[] = [];

  /** Use `openDuckDBStore`, which opens the database and calls `start()`. */
  constructor(instance: DuckDBInstance, conn: DuckDBConnection, runId: number, options: StoreOptions) {
    this.instance = instance;
    this.conn = conn;
    this.runId = runId;
    this.path = options.path;
    this.where = options.path;
    this.flowsT = new StagedTable(flowLayout(), options.dedupeFlows === true);
    this.tables = [this.flowsT, this.metricsT, this.anomaliesT, this.packetsT];
    this.uncommitted = this.tables.map(() => 0);
    this.commitIntervalMs = positive(options.commitIntervalMs, 1000);
    this.maxDelayMs = positive(options.maxDelayMs, 1000);
    this.highWaterRows = positive(options.highWaterRows, 16 * CAP);
    this.addPacket = options.packets === true ? (p, tsUs) => this.packet(p, tsUs) : noPacket;
  }

  /** Register the staging scans and prepare the INSERTs; start the commit timer. Called once, by `openDuckDBStore`. */
  async start(): Promise<void> {
    for (const t of this.tables) await t.attach(this.conn, this.runId);
    if (!this.flowsT.orIgnore) {
      this.side = await this.instance.connect();
      await this.side.run(`USE ${STORE_DATABASE}`);
      this.sideLane = await this.flowsT.attach(this.side, this.runId);
    }
    // Rows that trickle in (a slow live capture) still reach the file and the dashboard.
    this.timer = setInterval(() => void this.tick(), Math.min(this.commitIntervalMs, this.maxDelayMs, 250));
    this.timer.unref();
  }

  /** Loss counters for heartbeats and summaries. */
  losses(): Record<string, number> {
    return { store_rows_dropped: this.dropped };
  }

  /** Counters for the health panel (a fresh object per read). */
  get stats(): StoreStats {
    let pending = 0;
    for (const t of this.tables) pending += t.queued();
    for (const u of this.uncommitted) pending += u;
    pending += this.sideRows;
    return {
      ...this.written,
      dropped: this.dropped,
      pending,
      flushes: this.commits,
      flush_ms: Math.round(this.writeMs * 1000) / 1000,
    };
  }

  /**
   * Queue one flow record (final or partial). Hot path: typed-array stores, no allocation.
   * @example
   * const engine = new FlowEngine({ onFlow: (rec) => store.addFlow(rec) });
   */
  addFlow(rec: FlowRecord): void {
    const b = this.flowsT.room();
    const i = b.n;
    const v = b.num;
    v[F_FLOW_ID + i] = rec.flow_id;
    v[F_FIRST + i] = rec.first_seen_us;
    v[F_LAST + i] = rec.last_seen_us;
    v[F_DURATION + i] = rec.duration_us;
    v[F_IPV + i] = rec.ip_version;
    v[F_PROTO + i] = rec.protocol;
    v[F_SPORT + i] = rec.src_port;
    v[F_DPORT + i] = rec.dest_port;
    v[F_VLAN + i] = rec.vlan_id;
    v[F_FPKT + i] = rec.fwd_packets;
    v[F_BPKT + i] = rec.bwd_packets;
    v[F_FBYTES + i] = rec.fwd_bytes;
    v[F_BBYTES + i] = rec.bwd_bytes;
    v[F_FPAY + i] = rec.fwd_payload_bytes;
    v[F_BPAY + i] = rec.bwd_payload_bytes;
    v[F_FFLAGS + i] = rec.fwd_tcp_flags;
    v[F_BFLAGS + i] = rec.bwd_tcp_flags;
    v[F_PARTIAL + i] = rec.partial ? 1 : 0;
    const s = b.text;
    s[0]!.push(rec.flow_uid);
    s[1]!.push(rec.community_id);
    s[2]!.push(rec.protocol_name);
    s[3]!.push(rec.src_ip);
    s[4]!.push(rec.dest_ip);
    s[5]!.push(rec.tunnel_type);
    s[6]!.push(rec.end_reason);
    const f = rec.features;
    if (f !== null && f.length >= FEATURE_WIDTH) {
      b.block.set(f.length === FEATURE_WIDTH ? f : f.subarray(0, FEATURE_WIDTH), i * FEATURE_WIDTH);
      b.present[i] = 1;
    } else {
      b.present[i] = 0;
      b.absent++;
    }
    b.n = i + 1;
  }

  /**
   * Queue one flow from its packed record (`packed-flow.ts`) at `buf[at ..]`: the same row as
   * `addFlow(unpackFlow(buf, at))`, without making the record object and its feature array
   * first (`run` hands the engine's flows over this way).
   * @example
   * const engine = new FlowEngine({ onFlow, onPackedFlow: (buf) => store.addPackedFlow(buf, 0) });
   */
  addPackedFlow(buf: Float64Array, at: number): void {
    const e = this.endpoints.read(buf, at);
    const b = this.flowsT.room();
    const i = b.n;
    const v = b.num;
    const first = buf[at + P_FIRST_US]!;
    const last = buf[at + P_LAST_US]!;
    const version = e.version;
    v[F_FLOW_ID + i] = buf[at + P_FLOW_ID]!;
    v[F_FIRST + i] = first;
    v[F_LAST + i] = last;
    v[F_DURATION + i] = last - first;
    v[F_IPV + i] = version;
    v[F_PROTO + i] = e.protocol;
    v[F_SPORT + i] = e.srcPort;
    v[F_DPORT + i] = e.dstPort;
    v[F_VLAN + i] = e.vlanId;
    v[F_FPKT + i] = buf[at + P_FWD_PACKETS]!;
    v[F_BPKT + i] = buf[at + P_BWD_PACKETS]!;
    v[F_FBYTES + i] = buf[at + P_FWD_BYTES]!;
    v[F_BBYTES + i] = buf[at + P_BWD_BYTES]!;
    v[F_FPAY + i] = buf[at + P_FWD_PAYLOAD]!;
    v[F_BPAY + i] = buf[at + P_BWD_PAYLOAD]!;
    v[F_FFLAGS + i] = e.fwdFlags;
    v[F_BFLAGS + i] = e.bwdFlags;
    v[F_PARTIAL + i] = buf[at + P_PARTIAL] === 1 ? 1 : 0;
    const s = b.text;
    s[0]!.push(e.uid());
    s[1]!.push(e.communityId());
    s[2]!.push(protocolName(e.protocol));
    s[3]!.push(version === 4 ? formatIPv4(e.src4) : formatIPv6(e.src6));
    s[4]!.push(version === 4 ? formatIPv4(e.dst4) : formatIPv6(e.dst6));
    s[5]!.push(e.tunnelType);
    s[6]!.push(END_REASONS[buf[at + P_REASON]!]!);
    if (buf[at + P_HAS_FEATURES] === 1) {
      const block = b.block;
      const o = i * FEATURE_WIDTH;
      const f0 = at + P_FEATURES;
      for (let j = 0; j < FEATURE_WIDTH; j++) block[o + j] = buf[f0 + j]!;
      b.present[i] = 1;
    } else {
      b.present[i] = 0;
      b.absent++;
    }
    b.n = i + 1;
  }

  /**
   * Queue one closed metric window (nested parts travel as JSON, parsed by DuckDB).
   * @example
   * const metrics = new RollingMetrics({ onWindow: (w) => store.addMetrics(w) });
   */
  addMetrics(w: MetricWindow): void {
    const b = this.metricsT.room();
    const i = b.n;
    const v = b.num;
    v[i] = w.window_s;
    v[CAP + i] = w.start_us;
    v[2 * CAP + i] = w.packets;
    v[3 * CAP + i] = w.bytes;
    v[4 * CAP + i] = w.new_flows;
    v[5 * CAP + i] = w.ended_flows;
    v[6 * CAP + i] = w.tcp_syn;
    v[7 * CAP + i] = w.tcp_rst;
    v[8 * CAP + i] = w.dns_queries;
    v[9 * CAP + i] = w.dns_nxdomain;
    const s = b.text;
    s[0]!.push(JSON.stringify(w.protocols ?? {}));
    s[1]!.push(JSON.stringify(w.anomalies ?? {}));
    s[2]!.push(JSON.stringify(w.top_talkers ?? []));
    s[3]!.push(JSON.stringify(w.top_ports ?? []));
    s[4]!.push(JSON.stringify(w.top_conversations ?? []));
    s[5]!.push(JSON.stringify(w.losses ?? {}));
    b.n = i + 1;
  }

  /**
   * Queue one anomalous packet.
   * @example
   * store.addAnomaly({ frame_number: 7, ts_us: 1.7e15, code: 'ipv4.checksum_invalid', src_ip: '10.0.0.1', dest_ip: '10.0.0.2', protocol: 6 });
   */
  addAnomaly(a: AnomalyRecord): void {
    const b = this.anomaliesT.room();
    const i = b.n;
    const v = b.num;
    v[i] = a.frame_number;
    v[CAP + i] = a.ts_us;
    v[2 * CAP + i] = a.protocol;
    const s = b.text;
    s[0]!.push(a.code);
    s[1]!.push(a.src_ip);
    s[2]!.push(a.dest_ip);
    b.n = i + 1;
  }

  private packet(p: PacketContext, tsUs: number): void {
    const b = this.packetsT.room();
    const i = b.n;
    const v = b.num;
    const layers = p.layers;
    const ipv = (layers & BIT_IP) !== 0 ? p.ipVersion : 0;
    const ports = p.hasPorts();
    v[i] = p.frameNumber;
    v[CAP + i] = tsUs;
    v[2 * CAP + i] = p.frameLength;
    v[3 * CAP + i] = p.capturedLength;
    v[4 * CAP + i] = ipv;
    v[5 * CAP + i] = ipv !== 0 ? p.protocol : 0;
    v[6 * CAP + i] = ipv === 4 ? p.src4 >>> 0 : 0;
    v[7 * CAP + i] = ipv === 4 ? p.dst4 >>> 0 : 0;
    v[8 * CAP + i] = ports ? p.srcPort : 0;
    v[9 * CAP + i] = ports ? p.dstPort : 0;
    v[10 * CAP + i] = (layers & BIT_TCP) !== 0 ? p.tcpFlags : 0;
    v[11 * CAP + i] = p.vlanCount > 0 ? p.vlanIds[0]! : -1;
    const s = b.text;
    s[0]!.push(ipv === 6 ? formatIPv6(p.src6) : '');
    s[1]!.push(ipv === 6 ? formatIPv6(p.dst6) : '');
    s[2]!.push(p.anomalyCount === 0 ? '' : p.anomalies.slice(0, p.anomalyCount).join(','));
    b.n = i + 1;
  }

  /**
   * Call after each input chunk: starts a background write or commit when one is due, and
   * returns a promise only when the caller should wait for the writer to catch up.
   * @example
   * await readCapture(path, onFrame, { afterChunk: () => store.tick() });
   */
  tick(): Promise<void> | undefined {
    if (this.closed) return undefined;
    if (!this.stepQueued && this.due(performance.now())) {
      this.stepQueued = true;
      this.chain = this.chain.then(() => this.step(false));
    }
    let queued = 0;
    for (const t of this.tables) queued += t.queued();
    return queued > this.highWaterRows ? this.chain : undefined;
  }

  /**
   * Write and commit every row added so far. Rejects with `PCS_SINK_WRITE` if a write failed.
   * @example
   * process.once('SIGINT', () => void store.flush().then(() => store.close()));
   */
  async flush(): Promise<void> {
    if (!this.closed) {
      this.chain = this.chain.then(() => this.drain());
      await this.chain;
    }
    if (this.failure !== null) throw this.failure;
  }

  /**
   * Call `listener` after every commit (new rows are visible to readers), e.g. to tell the
   * dashboard to push. A throwing listener is ignored.
   * @example
   * store.onCommit(() => dashboard.notify());
   */
  onCommit(listener: () => void): void {
    this.commitListeners.push(listener);
  }

  /**
   * This store's open database, for a reader in the same process (the dashboard's read model,
   * `ReadModel.ofStore`); `closeReader` runs before the store closes the database.
   * @example
   * const { instance } = store.shareDatabase(() => reader.close());
   */
  shareDatabase(closeReader: () => Promise<void>): {
    instance: DuckDBInstance;
    database: string;
    runId: number;
    path: string;
  } {
    this.readers.push(closeReader);
    return { instance: this.instance, database: STORE_DATABASE, runId: this.runId, path: this.path };
  }

  /**
   * Flush, checkpoint (so readers need not replay the WAL) and close; rows added afterwards are
   * not written. Rejects with `PCS_SINK_WRITE` if a write failed (after closing). Idempotent.
   * @example
   * await store.close();
   */
  async close(): Promise<void> {
    if (this.closed) return;
    // From here tick() and the timer start nothing: the last step below is the last write.
    this.closed = true;
    clearInterval(this.timer);
    this.chain = this.chain.then(() => this.drain());
    await this.chain;
    try {
      await this.conn.run(`CHECKPOINT ${STORE_DATABASE}`);
    } catch {
      // The data is already committed to the WAL; the next open replays it.
    }
    for (const close of this.readers.splice(0)) await close();
    for (const t of this.tables) t.detach();
    this.side?.closeSync();
    this.conn.closeSync();
    this.instance.closeSync();
    if (this.failure !== null) throw this.failure;
  }

  private due(now: number): boolean {
    for (const t of this.tables) {
      if (t.hasFull() || (t.cur.n > 0 && now - t.cur.bornMs >= this.maxDelayMs)) return true;
    }
    return this.inTxn && now - this.lastCommitMs >= this.commitIntervalMs;
  }

  /** Write and commit everything queued: whole row groups two at a time while they last, then the rest. */
  private async drain(): Promise<void> {
    while (this.side !== null && this.failure === null && this.flowsT.fullCount() >= 2 * ROW_GROUP_BATCHES) {
      await this.step(false);
    }
    await this.step(true);
  }

  /** Flow batches the main connection takes up to the next row-group boundary. */
  private toBoundary(): number {
    return Math.max(1, ROW_GROUP_BATCHES - Math.ceil(this.uncommitted[0]! / CAP));
  }

  /**
   * One write: insert what is ready into each table, then commit if due (or if `all`). When a
   * whole row group of flows is queued beyond what the main connection takes, the side
   * connection writes and commits it meanwhile.
   */
  private async step(all: boolean): Promise<void> {
    this.stepQueued = false;
    const t0 = performance.now();
    const taken: [StagedTable, Batch[]][] = [];
    let current = '';
    let sideWrite: Promise<void> | null = null;
    try {
      for (let k = 0; k < this.tables.length; k++) {
        const t = this.tables[k]!;
        // Flows stop at the next row-group boundary, where a commit follows (see ROW_GROUP_ROWS).
        const limit = k === 0 ? this.toBoundary() : undefined;
        const batches = t.take(all, t0, this.maxDelayMs, limit);
        if (k === 0 && this.side !== null && this.flowsT.fullCount() >= ROW_GROUP_BATCHES) {
          sideWrite = this.writeSide(this.flowsT.take(false, t0, this.maxDelayMs, ROW_GROUP_BATCHES));
        }
        if (batches.length === 0) continue;
        taken.push([t, batches]);
        current = t.name;
        if (!this.inTxn) {
          await this.conn.run('BEGIN TRANSACTION');
          this.inTxn = true;
        }
        await t.insert(batches);
        this.uncommitted[k]! += rowsOf(batches);
        taken.pop();
        t.release(batches);
      }
      const wholeGroup = this.uncommitted[0]! >= ROW_GROUP_ROWS;
      if (this.inTxn && (all || wholeGroup || performance.now() - this.lastCommitMs >= this.commitIntervalMs)) {
        current = 'commit';
        await this.conn.run('COMMIT');
        this.inTxn = false;
        this.lastCommitMs = performance.now();
        this.commits++;
        this.written.flows += this.uncommitted[0]!;
        this.written.metrics += this.uncommitted[1]!;
        this.written.anomalies += this.uncommitted[2]!;
        this.written.packets += this.uncommitted[3]!;
        this.uncommitted.fill(0);
        this.notifyCommit();
      }
    } catch (err) {
      await this.fail(err, current, taken);
    } finally {
      if (sideWrite !== null) await sideWrite;
      this.writeMs += performance.now() - t0;
    }
  }

  /** Insert and commit one row group of flows through the side connection; never rejects. */
  private async writeSide(batches: Batch[]): Promise<void> {
    const side = this.side!;
    const rows = rowsOf(batches);
    this.sideRows += rows;
    let inTxn = false;
    try {
      await side.run('BEGIN TRANSACTION');
      inTxn = true;
      await this.flowsT.insert(batches, this.sideLane);
      await side.run('COMMIT');
      inTxn = false;
      this.commits++;
      this.written.flows += rows;
      this.notifyCommit();
    } catch (err) {
      if (inTxn) await side.run('ROLLBACK').catch(() => undefined);
      this.lost(err, 'flows', rows);
    } finally {
      this.sideRows -= rows;
      this.flowsT.release(batches);
    }
  }

  private notifyCommit(): void {
    for (const l of this.commitListeners) {
      try {
        l();
      } catch {
        // A listener's failure is its own; the data is committed.
      }
    }
  }

  /** A write failed: roll back, count what was lost, remember the error for flush/close. */
  private async fail(err: unknown, what: string, taken: [StagedTable, Batch[]][]): Promise<void> {
    let lost = 0;
    for (const u of this.uncommitted) lost += u;
    for (const [t, batches] of taken) {
      lost += rowsOf(batches);
      t.release(batches);
    }
    this.uncommitted.fill(0);
    if (this.inTxn) {
      this.inTxn = false;
      try {
        await this.conn.run('ROLLBACK');
      } catch {
        // DuckDB may have ended the transaction itself.
      }
    }
    this.lost(err, what, lost);
  }

  /** Count `rows` as dropped and remember the first failure for flush/close. */
  private lost(err: unknown, what: string, rows: number): void {
    this.dropped += rows;
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    this.failure ??= new PipelineError(
      'PCS_SINK_WRITE',
      `store ${this.path}: writing ${what} failed, ${rows} rows lost: ${msg}`,
      { cause: err },
    );
  }
}

function countOf(s: string, ch: string): number {
  let n = 0;
  for (let i = s.indexOf(ch); i !== -1; i = s.indexOf(ch, i + 1)) n++;
  return n;
}

function rowsOf(batches: Batch[]): number {
  let n = 0;
  for (const b of batches) n += b.n;
  return n;
}

/** A DuckDB size setting (`16MB`, `1.5GiB`), or `dflt` when absent. */
function sizeOption(name: string, v: string | undefined, dflt: string): string {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !/^\d{1,6}(\.\d{1,3})?\s?(B|KB|MB|GB|KiB|MiB|GiB)$/i.test(v)) {
    throw new PipelineError('PCS_CONFIG', `${name} must be a size such as 16MB, got ${String(v)}`);
  }
  return v;
}

function positive(v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`store option must be a positive number, got ${v}`);
  return v;
}

/**
 * Open (or create) the store file and start a run in it. Fails at once with `PCS_STORE_OPEN`
 * when the file cannot be opened or locked, is not a pcapstream store, or has another schema
 * version.
 * @example
 * const store = await openDuckDBStore({ path: DEFAULT_STORE_PATH, label: 'trace.pcap' });
 * engine.onFlow = (rec) => store.addFlow(rec);
 * await readCapture(input, onFrame, { afterChunk: () => store.tick() });
 * await store.close();
 */
export async function openDuckDBStore(options: StoreOptions): Promise<DuckDBStore> {
  const path = options.path;
  if (typeof path !== 'string' || path === '') throw new PipelineError('PCS_CONFIG', 'store path must not be empty');
  // Checked before opening: a bad size is a configuration error, not a store that cannot open.
  const checkpoint = sizeOption('checkpoint threshold', options.checkpointThreshold, '64MB');
  const memoryLimit = sizeOption('memory limit', options.memoryLimit, '256MB');
  let instance: DuckDBInstance;
  try {
    // The file is attached rather than opened: only ATTACH takes a row group size.
    instance = await DuckDBInstance.create(':memory:', {
      // One DuckDB thread: decoding has the other core.
      threads: '1',
      checkpoint_threshold: checkpoint,
      memory_limit: memoryLimit,
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
  } catch (err) {
    throw storeOpenError(path, err, false);
  }
  let conn: DuckDBConnection | null = null;
  try {
    conn = await instance.connect();
    await conn.run(`ATTACH '${path.replaceAll("'", "''")}' AS ${STORE_DATABASE} (ROW_GROUP_SIZE ${ROW_GROUP_ROWS})`);
    await conn.run(`USE ${STORE_DATABASE}`);
    await ensureSchema(conn, path);
    if (options.dedupeFlows === true) {
      try {
        await conn.run(
          `CREATE UNIQUE INDEX IF NOT EXISTS ${FLOWS_DEDUPE_INDEX} ON flows (flow_uid, partial, last_seen_us)`,
        );
      } catch (err) {
        throw new PipelineError(
          'PCS_STORE_OPEN',
          `${path}: cannot keep flows unique in this store (it already holds repeated flow records, from runs without deduplication): ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
    const runId = await startRun(conn, options.label ?? '');
    // Ad hoc SQL on this database (the dashboard's /api/query) gets no file access and cannot
    // change settings; the writer needs neither once open.
    await conn.run('SET enable_external_access = false');
    await conn.run('SET lock_configuration = true');
    const store = new DuckDBStore(instance, conn, runId, options);
    await store.start();
    return store;
  } catch (err) {
    conn?.closeSync();
    instance.closeSync();
    if (isPipelineError(err)) throw err;
    throw storeOpenError(path, err, false);
  }
}

/** Unique index the sink's dedupe relies on. */
const FLOWS_DEDUPE_INDEX = 'flows_dedupe';

/** Create the tables in an empty file, or check an existing store's version and columns. */
async function ensureSchema(conn: DuckDBConnection, path: string): Promise<void> {
  const tables = await conn.runAndReadAll(
    "SELECT count(*)::INTEGER FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'",
  );
  if (tables.getRows()[0]![0] !== 0) {
    await migrateSchema(conn);
    await verifySchema(conn, path);
    return;
  }
  await conn.run('BEGIN TRANSACTION');
  try {
    for (const sql of schemaDDL()) await conn.run(sql);
    await conn.run(
      `INSERT INTO meta VALUES (${SCHEMA_VERSION}, make_timestamp(${Date.now() * 1000}::BIGINT), 'pcapstream')`,
    );
    await conn.run('COMMIT');
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function startRun(conn: DuckDBConnection, label: string): Promise<number> {
  const r = await conn.runAndReadAll('SELECT (coalesce(max(run_id), 0) + 1)::INTEGER FROM runs');
  const runId = r.getRows()[0]![0] as number;
  await conn.run(`INSERT INTO runs VALUES ($1, make_timestamp(${Date.now() * 1000}::BIGINT), $2)`, [
    runId,
    label.slice(0, 1000),
  ]);
  return runId;
}
