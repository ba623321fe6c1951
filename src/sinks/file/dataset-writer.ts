/**
 * Flow datasets for machine learning: every N finished flows, and at close, one part written as
 * both CSV and Parquet, plus a `manifest.json` that lists the parts. Layout and columns are
 * documented in docs/datasets.md.
 *
 * Contract
 * - `add(rec)` is synchronous and cheap (it copies the record's numbers into typed column blocks
 *   and keeps its strings; the record is not retained); it is called on the hot path once per
 *   finished flow. Partial records (`partial: true`) are skipped: a dataset row is a finished flow.
 * - When `every` rows are buffered the part is cut: its blocks are transferred (not copied) to
 *   a worker thread (`dataset-worker.ts`) that owns an in-memory DuckDB, which writes
 *   `flows-NNNNNN.parquet` and `.csv` to `*.tmp` files, renames them into place and then rewrites
 *   `manifest.json` the same way. A reader that trusts the manifest never sees a half-written
 *   file. The worker hands the block buffers back for reuse.
 * - Memory: the part being filled here plus the parts queued in the worker. `flush()` waits until
 *   at most one part is still being written, so when the writer falls behind the caller (which
 *   awaits `flush()` after each input chunk) slows down instead of the queue growing.
 * - Failure: opening fails at once (`PCS_SINK_OPEN`) if the directory cannot be created or
 *   written, or already holds a dataset. A part that cannot be written fails the writer: later
 *   `add` calls are dropped and `flush()`/`close()` reject with `PCS_SINK_WRITE`.
 *
 * Why a worker: filling DuckDB data chunks costs ~12 µs per 100-column row and formatting a CSV
 * row in JS ~24 µs; on the pipeline thread that would stall decoding. Here that thread pays
 * ~0.5-1 µs per flow (typed-array copies) and the rest runs beside it. Measurements in
 * docs/datasets.md (`node bench/dataset-writer.ts`).
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { PipelineError } from '../../core/errors.ts';
import { CIC_FEATURE_COUNT, CIC_FEATURES, CIC_HEADER, type CicMode } from '../../flow/cic-features.ts';
import type { FlowRecord } from '../../flow/records.ts';
import { FLOW_SCALAR_COLUMNS } from '../flow-format.ts';
import type { BlockBuffers, BlockMessage, PartMessage, WorkerConfig, WorkerReply } from './dataset-worker.ts';

/** Options of `openDatasetWriter`: plain data, so the writer's configuration can cross threads. */
export interface DatasetOptions {
  /** Output directory; created if missing. It must not already hold a dataset. */
  dir: string;
  /** Flows per part, an integer >= 1. */
  every: number;
  /** CSV layout: `snake` (default) or `cic` (the CICIDS2017 85-column CSV). Parquet is always snake. */
  format?: 'snake' | 'cic';
  /** Value of the `Label` column in `cic` format; default `BENIGN`. */
  label?: string;
  /** Feature mode of the run, recorded in the manifest (the records do not carry it). */
  features?: CicMode | 'none';
}

/** SQL type of a dataset column (the Parquet physical type follows DuckDB's mapping). */
export type DatasetColumnType = 'BIGINT' | 'INTEGER' | 'DOUBLE' | 'VARCHAR' | 'TIMESTAMP';

/** One column of the Parquet file (and of the CSV in `snake` format). */
export interface DatasetColumn {
  name: string;
  type: DatasetColumnType;
}

type ScalarName = Exclude<(typeof FLOW_SCALAR_COLUMNS)[number], 'partial'>;

/**
 * Type of each scalar record field in the dataset. Keyed by the record's scalar columns, so a
 * field added to the flow CSV without a dataset type fails to compile.
 */
const SCALAR_TYPES: Readonly<Record<ScalarName, 'BIGINT' | 'INTEGER' | 'VARCHAR'>> = {
  flow_id: 'BIGINT',
  flow_uid: 'VARCHAR',
  community_id: 'VARCHAR',
  first_seen_us: 'BIGINT',
  last_seen_us: 'BIGINT',
  duration_us: 'BIGINT',
  ip_version: 'INTEGER',
  protocol: 'INTEGER',
  protocol_name: 'VARCHAR',
  src_ip: 'VARCHAR',
  src_port: 'INTEGER',
  dest_ip: 'VARCHAR',
  dest_port: 'INTEGER',
  vlan_id: 'INTEGER',
  tunnel_type: 'VARCHAR',
  fwd_packets: 'BIGINT',
  bwd_packets: 'BIGINT',
  fwd_bytes: 'BIGINT',
  bwd_bytes: 'BIGINT',
  fwd_payload_bytes: 'BIGINT',
  bwd_payload_bytes: 'BIGINT',
  fwd_tcp_flags: 'INTEGER',
  bwd_tcp_flags: 'INTEGER',
  end_reason: 'VARCHAR',
};

const SCALARS = FLOW_SCALAR_COLUMNS.filter((c): c is ScalarName => c !== 'partial');

/**
 * Numeric scalar fields, in the order of a row of a block's `nums` columns.
 * @example
 * NUM_FIELDS.indexOf('flow_id'); // 0
 */
export const NUM_FIELDS: readonly ScalarName[] = SCALARS.filter((c) => SCALAR_TYPES[c] !== 'VARCHAR');
/**
 * String scalar fields, in the order of a block's `strs` columns.
 * @example
 * STR_FIELDS.includes('src_ip'); // true
 */
export const STR_FIELDS: readonly ScalarName[] = SCALARS.filter((c) => SCALAR_TYPES[c] === 'VARCHAR');

/** Timestamp columns derived from the µs fields, inserted right after `last_seen_us`. */
const TIMESTAMPS: readonly { name: string; from: ScalarName }[] = [
  { name: 'first_seen', from: 'first_seen_us' },
  { name: 'last_seen', from: 'last_seen_us' },
];

/**
 * The Parquet columns (also the CSV columns in `snake` format), in order: the flow record's
 * scalar fields as in `flows --format csv` (without `partial`), the TIMESTAMP (UTC) forms of
 * first/last seen after `last_seen_us`, one DOUBLE per CIC feature, and `label` in `cic` format.
 * @example
 * datasetColumns('snake').find((c) => c.name === 'first_seen')?.type; // 'TIMESTAMP'
 */
export function datasetColumns(format: 'snake' | 'cic'): DatasetColumn[] {
  const cols: DatasetColumn[] = [];
  for (const name of SCALARS) {
    cols.push({ name, type: SCALAR_TYPES[name] });
    if (name === 'last_seen_us') for (const t of TIMESTAMPS) cols.push({ name: t.name, type: 'TIMESTAMP' });
  }
  for (const f of CIC_FEATURES) cols.push({ name: f.name, type: 'DOUBLE' });
  if (format === 'cic') cols.push({ name: 'label', type: 'VARCHAR' });
  return cols;
}

/**
 * The DuckDB select list that turns the all-DOUBLE/VARCHAR staging table (`n<i>`, `s<i>`,
 * `f<i>`) into the dataset columns. Staging numbers as DOUBLE avoids a BigInt per value when
 * loading; every value is a safe integer, so the casts are exact.
 * @example
 * `COPY (SELECT ${datasetSelectSql('snake', 'BENIGN')} FROM staging) TO 'x.parquet' (FORMAT parquet)`
 */
export function datasetSelectSql(format: 'snake' | 'cic', label: string): string {
  const parts: string[] = [];
  for (const c of datasetColumns(format)) {
    if (c.name === 'label') {
      parts.push(`${sqlString(label)} AS label`);
      continue;
    }
    const ts = TIMESTAMPS.find((t) => t.name === c.name);
    const ni = NUM_FIELDS.indexOf((ts?.from ?? c.name) as ScalarName);
    const si = STR_FIELDS.indexOf(c.name as ScalarName);
    if (ts !== undefined) parts.push(`make_timestamp(n${ni}::BIGINT) AS ${c.name}`);
    else if (ni >= 0) parts.push(`n${ni}::${c.type} AS ${c.name}`);
    else if (si >= 0) parts.push(`s${si} AS ${c.name}`);
    else parts.push(`f${CIC_FEATURES.findIndex((f) => f.name === c.name)} AS ${c.name}`);
  }
  return parts.join(', ');
}

/**
 * A SQL string literal.
 * @example
 * sqlString("it's"); // "'it''s'"
 */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** One written part as listed in the manifest. */
export interface DatasetPart {
  /** Part number, from 1. */
  part: number;
  /** File names, relative to the dataset directory. */
  csv: string;
  parquet: string;
  rows: number;
  csv_bytes: number;
  parquet_bytes: number;
  /** Smallest and largest `flow_id` in the part. */
  first_flow_id: number;
  last_flow_id: number;
  /** Earliest `first_seen_us` and latest `last_seen_us` in the part. */
  first_seen_us: number;
  last_seen_us: number;
}

/** Content of `manifest.json` (see docs/datasets.md). */
export interface DatasetManifest {
  /** Always `pcapstream-flow-dataset`. */
  kind: 'pcapstream-flow-dataset';
  /** Version of this manifest layout and of the column set; bumped on any incompatible change. */
  schema_version: number;
  /** CSV layout. */
  format: 'snake' | 'cic';
  /** CIC feature mode of the run (`cic`, `corrected`, `none`), null when not given. */
  features: CicMode | 'none' | null;
  /** Label written in `cic` format, else null. */
  label: string | null;
  rows_per_part: number;
  /** True once the writer closed: no more parts will come. */
  complete: boolean;
  /** Wall-clock times (ISO 8601, UTC) of creation and of the last update. */
  created: string;
  updated: string;
  /** Rows over all parts. */
  rows: number;
  /** CSV header columns, in order. */
  csv_columns: string[];
  /** Parquet columns with their SQL types, in order. */
  parquet_columns: DatasetColumn[];
  parts: DatasetPart[];
}

/**
 * Version of the manifest and column layout.
 * @example
 * if (manifest.schema_version !== DATASET_SCHEMA_VERSION) throw new Error('unknown dataset layout');
 */
export const DATASET_SCHEMA_VERSION = 2;

/**
 * Name of a part's files without extension.
 * @example
 * partBaseName(1); // 'flows-000001'
 */
export function partBaseName(part: number): string {
  return `flows-${String(part).padStart(6, '0')}`;
}

const PART_FILE = /^flows-\d{6,}\.(csv|parquet)$/;

/** Threads of the worker's DuckDB: two keep a Parquet and a CSV copy running side by side. */
const DUCKDB_THREADS = 2;

/**
 * Rows per column block. A part is a list of blocks, so it grows without copying; 2048 is
 * DuckDB's vector size, so each block loads as one data chunk.
 */
const BLOCK_ROWS = 2048;

const NUM_WIDTH = NUM_FIELDS.length;
const STR_WIDTH = STR_FIELDS.length;
const FEATURES = CIC_FEATURE_COUNT;

/**
 * Copy the numeric fields of `rec` to `out` from `at`, in `NUM_FIELDS` order. Written out
 * field by field: a loop over the names costs ~480 ns per record in megamorphic keyed loads,
 * this ~90 ns. The check below keeps it in step with `NUM_FIELDS`.
 */
function copyNums(rec: FlowRecord, out: Float64Array, at: number): void {
  out[at] = rec.flow_id;
  out[at + 1] = rec.first_seen_us;
  out[at + 2] = rec.last_seen_us;
  out[at + 3] = rec.duration_us;
  out[at + 4] = rec.ip_version;
  out[at + 5] = rec.protocol;
  out[at + 6] = rec.src_port;
  out[at + 7] = rec.dest_port;
  out[at + 8] = rec.vlan_id;
  out[at + 9] = rec.fwd_packets;
  out[at + 10] = rec.bwd_packets;
  out[at + 11] = rec.fwd_bytes;
  out[at + 12] = rec.bwd_bytes;
  out[at + 13] = rec.fwd_payload_bytes;
  out[at + 14] = rec.bwd_payload_bytes;
  out[at + 15] = rec.fwd_tcp_flags;
  out[at + 16] = rec.bwd_tcp_flags;
}

{
  const probe: Record<string, unknown> = {};
  NUM_FIELDS.forEach((name, i) => {
    probe[name] = i + 1;
  });
  const out = new Float64Array(NUM_WIDTH + 1);
  copyNums(probe as unknown as FlowRecord, out, 0);
  if (out.some((v, i) => v !== (i < NUM_WIDTH ? i + 1 : 0))) {
    throw new Error(`copyNums is out of step with NUM_FIELDS (${NUM_FIELDS.join(', ')})`);
  }
}

/** Up to `BLOCK_ROWS` rows of a part: row-major typed columns, transferred to the worker when cut. */
class Block {
  rows = 0;
  readonly capacity: number;
  readonly nums: Float64Array<ArrayBuffer>;
  readonly feats: Float64Array<ArrayBuffer>;
  readonly hasFeat: Uint8Array<ArrayBuffer>;
  readonly strs: string[][];

  /** A block of `capacity` rows, on recycled buffers when given (their content is overwritten). */
  constructor(capacity: number, buffers?: BlockBuffers) {
    this.capacity = capacity;
    if (buffers === undefined) {
      this.nums = new Float64Array(capacity * NUM_WIDTH);
      this.feats = new Float64Array(capacity * FEATURES);
      this.hasFeat = new Uint8Array(capacity);
    } else {
      this.nums = new Float64Array(buffers.nums);
      this.feats = new Float64Array(buffers.feats);
      this.hasFeat = new Uint8Array(buffers.hasFeat);
    }
    this.strs = STR_FIELDS.map(() => []);
  }

  message(): BlockMessage {
    // One string per column: cloning a joined string is one copy, an array a walk.
    return {
      rows: this.rows,
      nums: this.nums,
      feats: this.feats,
      hasFeat: this.hasFeat,
      strs: this.strs.map((c) => c.join('\n')),
    };
  }
}

function openError(dir: string, what: string, cause?: unknown): PipelineError {
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new PipelineError('PCS_SINK_OPEN', `cannot open dataset directory ${dir}: ${what}${reason}`, { cause });
}

function validate(
  o: DatasetOptions,
): Required<Omit<DatasetOptions, 'features'>> & { features: CicMode | 'none' | null } {
  if (typeof o.dir !== 'string' || o.dir === '') {
    throw new PipelineError('PCS_CONFIG', 'dataset directory (--dataset-dir) must be a non-empty path');
  }
  if (!Number.isInteger(o.every) || o.every < 1) {
    throw new PipelineError(
      'PCS_CONFIG',
      `flows per dataset part (--dataset-every) must be an integer >= 1, got ${o.every}`,
    );
  }
  const format = o.format ?? 'snake';
  if (format !== 'snake' && format !== 'cic') {
    throw new PipelineError(
      'PCS_CONFIG',
      `dataset format (--dataset-format) must be snake or cic, got '${String(format)}'`,
    );
  }
  const label = o.label ?? 'BENIGN';
  // The cic row writer joins fields with commas unquoted, as the CICIDS2017 files do.
  if (format === 'cic' && (label === '' || /[",\r\n]/.test(label))) {
    throw new PipelineError(
      'PCS_CONFIG',
      `dataset label must be non-empty without commas, quotes or newlines, got '${label}'`,
    );
  }
  return { dir: o.dir, every: o.every, format, label, features: o.features ?? null };
}

/**
 * Write `file` through a temp file (`file.tmp`) and a rename, so readers see the old or the new
 * content, never a part of it.
 * @example
 * await writeFileAtomic('ds/manifest.json', JSON.stringify(manifest));
 */
export async function writeFileAtomic(file: string, data: string): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/**
 * Open a dataset directory and start its writer.
 * @example
 * const ds = await openDatasetWriter({ dir: 'out/ds', every: 10_000, format: 'cic' });
 * engine.onFlow = (rec) => ds.add(rec);
 * // after each input chunk: await ds.flush(); at the end: await ds.close();
 */
export async function openDatasetWriter(o: DatasetOptions): Promise<DatasetWriter> {
  const opts = validate(o);
  const dir = path.resolve(opts.dir);
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw openError(opts.dir, 'cannot create it', err);
  }
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw openError(opts.dir, 'cannot list it', err);
  }
  if (names.includes('manifest.json') || names.some((n) => PART_FILE.test(n))) {
    throw openError(
      opts.dir,
      'it already holds a dataset (manifest.json or flows-*.csv/parquet); use an empty directory',
    );
  }
  const now = new Date().toISOString();
  const manifest: DatasetManifest = {
    kind: 'pcapstream-flow-dataset',
    schema_version: DATASET_SCHEMA_VERSION,
    format: opts.format,
    features: opts.features,
    label: opts.format === 'cic' ? opts.label : null,
    rows_per_part: opts.every,
    complete: false,
    created: now,
    updated: now,
    rows: 0,
    csv_columns: opts.format === 'cic' ? [...CIC_HEADER] : datasetColumns('snake').map((c) => c.name),
    parquet_columns: datasetColumns(opts.format),
    parts: [],
  };
  const manifestPath = path.join(dir, 'manifest.json');
  try {
    await writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  } catch (err) {
    await rm(`${manifestPath}.tmp`, { force: true }).catch(() => {});
    throw openError(opts.dir, 'cannot write in it', err);
  }
  const config: WorkerConfig = {
    dir,
    format: opts.format,
    label: opts.label,
    manifest,
    threads: DUCKDB_THREADS,
  };
  const worker = new Worker(new URL('./dataset-worker.ts', import.meta.url), { workerData: config });
  let onMessage: (m: WorkerReply) => void = () => {};
  let onError: (err: Error) => void = () => {};
  let onExit: (code: number) => void = () => {};
  try {
    await new Promise<void>((resolve, reject) => {
      onMessage = (m) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'failed') reject(new Error(m.message));
      };
      onError = reject;
      onExit = (code) => reject(new Error(`worker exited with code ${code}`));
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  } catch (err) {
    await worker.terminate();
    throw openError(opts.dir, 'cannot start the DuckDB writer', err);
  } finally {
    // Only ours: removeAllListeners() would also drop the worker's internal ones.
    worker.off('message', onMessage);
    worker.off('error', onError);
    worker.off('exit', onExit);
  }
  return new DatasetWriter(worker, opts.every);
}

/**
 * Buffers finished flows and writes them as dataset parts. Create with `openDatasetWriter`.
 * @example
 * const ds = await openDatasetWriter({ dir: 'ds', every: 1000 });
 * for (const rec of records) ds.add(rec);
 * await ds.close();
 * console.log(ds.stats.parts, ds.stats.rows);
 */
export class DatasetWriter {
  /** Parts, rows and bytes (CSV + Parquet) written so far; rows still buffered are not counted. */
  readonly stats: { parts: number; rows: number; bytes: number } = { parts: 0, rows: 0, bytes: 0 };

  readonly #worker: Worker;
  readonly #every: number;
  /** Full blocks of the part being filled, and the block being filled. */
  #blocks: Block[] = [];
  #block: Block;
  #partRows = 0;
  /**
   * Full-size block buffers the worker handed back. Reusing them saves allocating and
   * page-faulting 1.5 MB per 2048 rows and the garbage collections that external memory
   * growth triggers; one part's worth is kept.
   */
  #pool: BlockBuffers[] = [];
  readonly #poolMax: number;
  #nextPart = 1;
  /** Parts sent to the worker and not yet reported written. */
  #inFlight = 0;
  #failure: PipelineError | null = null;
  #closing: Promise<void> | null = null;
  #closed = false;
  #wakers: (() => void)[] = [];

  /** Use `openDatasetWriter`. */
  constructor(worker: Worker, every: number) {
    this.#worker = worker;
    this.#every = every;
    this.#poolMax = Math.min(Math.ceil(every / BLOCK_ROWS), 64);
    this.#block = new Block(Math.min(every, BLOCK_ROWS));
    worker.on('message', (m: WorkerReply) => this.#onReply(m));
    worker.on('error', (err) => this.#fail(`the dataset writer thread failed: ${err.message}`, err));
    worker.on('exit', (code) => {
      this.#closed = true;
      if (this.#inFlight > 0 || this.#closing === null || code !== 0) {
        this.#fail(`the dataset writer thread stopped (exit code ${code})`);
      }
      this.#wake();
    });
    // Idle, the thread must not keep the process alive; it is referenced while work is queued.
    worker.unref();
  }

  /**
   * Buffer one finished flow (partial updates are skipped). Cuts a part when `every` flows are
   * buffered. Never blocks; after a write failure the record is dropped.
   * @example
   * engine.onFlow = (rec) => ds.add(rec);
   */
  add(rec: FlowRecord): void {
    if (rec.partial || this.#failure !== null) return;
    if (this.#closing !== null) throw new Error('dataset writer is closed');
    let b = this.#block;
    if (b.rows === b.capacity) {
      this.#blocks.push(b);
      b = this.#block = this.#newBlock(Math.min(BLOCK_ROWS, this.#every - this.#partRows));
    }
    const r = b.rows;
    const nums = b.nums;
    copyNums(rec, nums, r * NUM_WIDTH);
    for (let i = 0; i < STR_WIDTH; i++) b.strs[i]!.push(rec[STR_FIELDS[i]!] as string);
    const f = rec.features;
    if (f !== null && f.length >= FEATURES) {
      b.feats.set(f.length === FEATURES ? f : f.subarray(0, FEATURES), r * FEATURES);
      b.hasFeat[r] = 1;
    } else {
      b.hasFeat[r] = 0;
    }
    b.rows = r + 1;
    if (++this.#partRows === this.#every) this.#cut();
  }

  /**
   * Apply back-pressure: resolves once at most one part is still being written. Rejects with
   * `PCS_SINK_WRITE` after a write failure.
   * @example
   * await ds.flush(); // after each input chunk
   */
  async flush(): Promise<void> {
    while (this.#failure === null && this.#inFlight > 1) await this.#event();
    if (this.#failure !== null) throw this.#failure;
  }

  /**
   * Write the last (possibly short) part, mark the manifest complete and stop the writer
   * thread. Idempotent: later calls return the same promise.
   * @example
   * process.once('SIGINT', () => void ds.close());
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#failure === null && this.#partRows > 0) this.#cut();
    if (!this.#closed) {
      this.#worker.ref();
      this.#worker.postMessage({ type: 'close' });
      while (!this.#closed) await this.#event();
    }
    if (this.#failure !== null) throw this.#failure;
  }

  #newBlock(capacity: number): Block {
    return new Block(capacity, capacity === BLOCK_ROWS ? this.#pool.pop() : undefined);
  }

  #cut(): void {
    const blocks = this.#blocks;
    blocks.push(this.#block);
    const msg: PartMessage = {
      type: 'part',
      part: this.#nextPart++,
      rows: this.#partRows,
      blocks: blocks.map((b) => b.message()),
    };
    const transfer: ArrayBuffer[] = [];
    for (const b of blocks) transfer.push(b.nums.buffer, b.feats.buffer, b.hasFeat.buffer);
    this.#blocks = [];
    this.#block = this.#newBlock(Math.min(this.#every, BLOCK_ROWS));
    this.#partRows = 0;
    this.#inFlight++;
    this.#worker.ref();
    this.#worker.postMessage(msg, transfer);
  }

  #onReply(m: WorkerReply): void {
    if (m.type === 'written') {
      for (const b of m.buffers) {
        if (this.#pool.length < this.#poolMax && b.hasFeat.byteLength === BLOCK_ROWS) this.#pool.push(b);
      }
      this.#inFlight--;
      this.stats.parts++;
      this.stats.rows += m.rows;
      this.stats.bytes += m.bytes;
    } else if (m.type === 'failed') {
      this.#inFlight = 0;
      this.#fail(m.message);
    }
    if (this.#inFlight === 0 && this.#closing === null) this.#worker.unref();
    this.#wake();
  }

  #fail(message: string, cause?: unknown): void {
    this.#failure ??= new PipelineError('PCS_SINK_WRITE', `cannot write dataset: ${message}`, { cause });
    this.#wake();
  }

  #event(): Promise<void> {
    return new Promise((resolve) => this.#wakers.push(resolve));
  }

  #wake(): void {
    const w = this.#wakers;
    this.#wakers = [];
    for (const f of w) f();
  }
}
