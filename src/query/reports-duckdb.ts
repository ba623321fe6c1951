/**
 * The canned reports (`reports.ts`) answered from a DuckDB store file, one SQL statement each.
 *
 * - The file is opened READ_ONLY without file access, extension loading or setting changes, as
 *   `ReadModel.open` does; a file held by a running `pcapstream run`, a missing file, or a file
 *   that is not a store of this version fails with `PCS_STORE_OPEN`.
 * - Every run of the file counts: flows are deduplicated by `flow_uid` across runs, so writing
 *   the same capture twice into one file does not double the top lists. Rows written before
 *   `flow_uid` existed (NULL) fall back to (run_id, flow_id).
 * - The SQL text is fixed: optional window ends choose among constant fragments, and every
 *   value (times, host, limit, step) is a bound parameter.
 */
import { BIGINT, type DuckDBConnection, DuckDBInstance, type DuckDBValue, VARCHAR } from '@duckdb/node-api';
import { PipelineError } from '../core/errors.ts';
import {
  checkReportParams,
  HOST_FLOW_COLUMNS,
  type ReportName,
  type ReportParams,
  type ReportResult,
  type ReportSource,
  reportDef,
} from '../core/reports.ts';
import { READ_ONLY_DUCKDB_CONFIG, storeOpenError, verifySchema } from '../sinks/db/schema.ts';
import { normalizeReportHost } from '../sinks/report-host.ts';

type Cell = string | number | boolean | null;
type Bind = Record<string, DuckDBValue>;
type BindTypes = Record<string, typeof BIGINT | typeof VARCHAR>;

/**
 * ` AND col >= $from AND col < $to` for the ends that are set. Leaving an open end out of the
 * SQL (rather than `$from IS NULL OR ...`) keeps the comparison a plain range DuckDB can prune
 * row groups with.
 */
function windowClause(col: string, p: ReportParams, bind: Bind, types: BindTypes): string {
  let sql = '';
  if (p.fromUs !== undefined) {
    sql += ` AND ${col} >= $from`;
    bind.from = BigInt(p.fromUs);
    types.from = BIGINT;
  }
  if (p.toUs !== undefined) {
    sql += ` AND ${col} < $to`;
    bind.to = BigInt(p.toUs);
    types.to = BIGINT;
  }
  return sql;
}

/**
 * `SELECT select` over the flows that started in the window and pass `filter`, each once in its
 * latest state: the final record first, else the newest partial one. Filtering before ranking
 * is exact because every record of a flow shares its addresses, ports and first_seen_us.
 */
function latestFlows(select: string, where: string): string {
  return (
    `SELECT ${select} FROM flows WHERE true${where} ` +
    "QUALIFY row_number() OVER (PARTITION BY coalesce(flow_uid, run_id::VARCHAR || ':' || flow_id::VARCHAR) " +
    'ORDER BY partial, last_seen_us DESC) = 1'
  );
}

/** A DuckDB value as a report cell: BIGINT and HUGEINT as numbers. */
function cell(v: DuckDBValue): Cell {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number(v);
  return String(v);
}

/**
 * @example
 * const reports = await DuckDBReports.open('pcapstream.duckdb');
 * const { columns, rows } = await reports.run('top-talkers', { limit: 10, stepS: 60 });
 * await reports.close();
 */
export class DuckDBReports implements ReportSource {
  private readonly instance: DuckDBInstance;
  private readonly conn: DuckDBConnection;
  /** Reports share the connection, one statement at a time. */
  private lane: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(instance: DuckDBInstance, conn: DuckDBConnection) {
    this.instance = instance;
    this.conn = conn;
  }

  /**
   * Open a store file read-only (see the file comment for the failures).
   * @example
   * const reports = await DuckDBReports.open('pcapstream.duckdb');
   */
  static async open(path: string): Promise<DuckDBReports> {
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, { ...READ_ONLY_DUCKDB_CONFIG });
    } catch (err) {
      throw openError(path, err);
    }
    try {
      const conn = await instance.connect();
      try {
        await verifySchema(conn, path);
      } catch (err) {
        conn.closeSync();
        throw err;
      }
      return new DuckDBReports(instance, conn);
    } catch (err) {
      instance.closeSync();
      throw err;
    }
  }

  /**
   * Answer one report; `PCS_USAGE` for bad parameters, checked before any SQL runs.
   * @example
   * const r = await reports.run('host-flows', { host: '10.0.0.1', limit: 100, stepS: 60 });
   */
  async run(name: ReportName, params: ReportParams): Promise<ReportResult> {
    if (this.closed) throw new PipelineError('PCS_USAGE', 'the report source is closed');
    const def = reportDef(name);
    checkReportParams(def, params);
    const p = params.host === undefined ? params : { ...params, host: normalizeReportHost(params.host) };
    const [sql, bind, types] = statement(name, p);
    const next = this.lane.then(() => this.conn.runAndReadAll(sql, bind, types));
    this.lane = next.catch(() => undefined);
    let reader: Awaited<typeof next>;
    try {
      reader = await next;
    } catch (err) {
      const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new PipelineError('PCS_QUERY', `report ${name} failed: ${msg}`, { cause: err });
    }
    return { columns: [...def.columns], rows: reader.getRows().map((r) => r.map(cell)) };
  }

  /** Close the file after the report in progress, if any; later `run` calls fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lane;
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

/** The SQL of a report with its bound values. */
function statement(name: ReportName, p: ReportParams): [string, Bind, BindTypes] {
  const bind: Bind = {};
  const types: BindTypes = {};
  const limit = (): string => {
    bind.limit = BigInt(p.limit);
    types.limit = BIGINT;
    return ' LIMIT $limit';
  };
  switch (name) {
    case 'top-talkers': {
      const f = latestFlows(
        'src_ip, dest_ip, fwd_packets + bwd_packets AS p, fwd_bytes + bwd_bytes AS b',
        windowClause('first_seen_us', p, bind, types),
      );
      const sql =
        `WITH f AS (${f}) ` +
        'SELECT host, count(*)::BIGINT AS flows, sum(p)::BIGINT AS packets, sum(b)::BIGINT AS bytes FROM (' +
        'SELECT src_ip AS host, p, b FROM f UNION ALL SELECT dest_ip, p, b FROM f WHERE dest_ip <> src_ip) ' +
        `GROUP BY host ORDER BY bytes DESC, packets DESC, host${limit()}`;
      return [sql, bind, types];
    }
    case 'top-ports': {
      const f = latestFlows(
        'protocol_name, dest_port, fwd_packets + bwd_packets AS p, fwd_bytes + bwd_bytes AS b',
        ` AND protocol IN (6, 17, 132)${windowClause('first_seen_us', p, bind, types)}`,
      );
      const sql =
        `SELECT protocol_name, dest_port AS port, count(*)::BIGINT AS flows, sum(p)::BIGINT AS packets, ` +
        `sum(b)::BIGINT AS bytes FROM (${f}) GROUP BY protocol_name, dest_port ` +
        `ORDER BY bytes DESC, flows DESC, protocol_name, port${limit()}`;
      return [sql, bind, types];
    }
    case 'host-flows': {
      bind.host = p.host!;
      types.host = VARCHAR;
      const f = latestFlows(
        HOST_FLOW_COLUMNS.join(', '),
        ` AND (src_ip = $host OR dest_ip = $host)${windowClause('first_seen_us', p, bind, types)}`,
      );
      return [`SELECT * FROM (${f}) ORDER BY first_seen_us, flow_uid${limit()}`, bind, types];
    }
    case 'traffic': {
      bind.step = BigInt(p.stepS) * 1_000_000n;
      types.step = BIGINT;
      // Floor to the epoch-aligned step (times are never negative, so % is a floor here).
      const sql =
        'SELECT (start_us - start_us % $step)::BIGINT AS step_start, sum(packets)::BIGINT, sum(bytes)::BIGINT, ' +
        `sum(new_flows)::BIGINT FROM metrics WHERE window_s = 1${windowClause('start_us', p, bind, types)} ` +
        'GROUP BY step_start HAVING sum(packets) > 0 ORDER BY step_start';
      return [sql, bind, types];
    }
    case 'alerts': {
      const sql =
        'SELECT DISTINCT ts_us, frame_number, code, src_ip, dest_ip, protocol FROM anomalies ' +
        `WHERE true${windowClause('ts_us', p, bind, types)} ORDER BY ts_us, frame_number, code${limit()}`;
      return [sql, bind, types];
    }
  }
}

/** `storeOpenError` with the hints that fit the report command's `--store`. */
function openError(path: string, err: unknown): PipelineError {
  const e = storeOpenError(path, err, false);
  let text = e.message;
  if (text.startsWith('no store at')) text += ' (pcapstream run creates one; --store names another file)';
  else if (text.includes('in use by another process')) text += '; reports read it once the run has ended';
  return new PipelineError('PCS_STORE_OPEN', text, { cause: err });
}
