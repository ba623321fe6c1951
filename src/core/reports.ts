/**
 * Canned reports: the questions analysts ask most, answered the same way by every store.
 * Each report is defined once here (name, parameters, columns, order); `reports-duckdb.ts`
 * answers them with SQL over the file store and `sinks/cassandra/cassandra-reports.ts` with CQL over the
 * partitions the window covers, so neither scans everything. A conformance test runs both over
 * the same capture and requires identical rows.
 *
 * Semantics shared by every backend
 * - The window is [from, to): flows by `first_seen_us`, metric windows by `start_us`, alerts by
 *   `ts_us`. Both ends are optional (unbounded).
 * - Flows count once each, in their latest state (final record, else newest partial update),
 *   identified by `flow_uid`.
 * - Whole numbers come back as JS numbers, addresses and names as strings, in the documented
 *   column order; ties are broken by the listed keys so output is deterministic.
 */
import { PipelineError } from './errors.ts';

export type ReportName = 'top-talkers' | 'top-ports' | 'host-flows' | 'traffic' | 'alerts';

/** Parameters of every report (each report uses some). Times are µs since the Unix epoch. */
export interface ReportParams {
  /** Window start, inclusive; undefined = unbounded. */
  fromUs?: number;
  /** Window end, exclusive; undefined = unbounded. */
  toUs?: number;
  /** `host-flows`: the address, as the store writes it (`10.0.0.1`, `2001:db8::1`). */
  host?: string;
  /** At most this many rows (top lists, host flows, alerts). */
  limit: number;
  /** `traffic`: seconds per row (a multiple of 1). */
  stepS: number;
}

export interface ReportResult {
  columns: string[];
  rows: (string | number | boolean | null)[][];
}

/** A store's answers to the canned reports. */
export interface ReportSource {
  run(name: ReportName, params: ReportParams): Promise<ReportResult>;
  close(): Promise<void>;
}

export interface ReportDef {
  name: ReportName;
  doc: string;
  columns: readonly string[];
  /** Parameters that must be given. */
  requires: readonly ('host' | 'fromUs' | 'toUs')[];
}

/** The host-flows columns: a flow's identity, times and per-direction counts. */
export const HOST_FLOW_COLUMNS = [
  'flow_uid',
  'first_seen_us',
  'last_seen_us',
  'protocol_name',
  'src_ip',
  'src_port',
  'dest_ip',
  'dest_port',
  'fwd_packets',
  'bwd_packets',
  'fwd_bytes',
  'bwd_bytes',
  'end_reason',
  'partial',
] as const;

/**
 * @example
 * for (const r of REPORTS) console.log(r.name, r.columns.join(','));
 */
export const REPORTS: readonly ReportDef[] = [
  {
    name: 'top-talkers',
    doc:
      'Addresses by bytes sent plus received in flows that started in the window (a flow counts for both ends); ' +
      'ties by packets, then address',
    columns: ['host', 'flows', 'packets', 'bytes'],
    requires: [],
  },
  {
    name: 'top-ports',
    doc:
      'Responder ports (protocol_name, dest_port) of TCP, UDP and SCTP flows (protocol 6, 17, 132; others are left out) ' +
      'that started in the window, by bytes; ties by flows, then protocol_name, then port',
    columns: ['protocol_name', 'port', 'flows', 'packets', 'bytes'],
    requires: [],
  },
  {
    name: 'host-flows',
    doc: 'Every flow with the host at either end that started in the window, by first_seen_us then flow_uid',
    columns: HOST_FLOW_COLUMNS,
    requires: ['host'],
  },
  {
    name: 'traffic',
    doc:
      'Packets, bytes and new flows per step (from the 1 s metric windows, summed over sensors and processors), ' +
      'steps aligned to the epoch; steps without traffic are left out',
    columns: ['start_us', 'packets', 'bytes', 'new_flows'],
    requires: [],
  },
  {
    name: 'alerts',
    doc: 'Anomalies raised in the window, by time, frame number and code',
    columns: ['ts_us', 'frame_number', 'code', 'src_ip', 'dest_ip', 'protocol'],
    requires: [],
  },
];

export const REPORT_NAMES: readonly ReportName[] = REPORTS.map((r) => r.name);

export const DEFAULT_REPORT_LIMIT = 20;
export const MAX_REPORT_LIMIT = 1_000_000;

/**
 * The definition of `name`, or a `PCS_USAGE` error listing the reports.
 * @example
 * reportDef('top-talkers').columns; // ['host', 'flows', 'packets', 'bytes']
 */
export function reportDef(name: string): ReportDef {
  const d = REPORTS.find((r) => r.name === name);
  if (d === undefined) {
    throw new PipelineError('PCS_USAGE', `no report '${name}'; reports: ${REPORT_NAMES.join(', ')}`);
  }
  return d;
}

/** Whether the date part of an ISO time names a real day, and its hour is below 24: Date.parse rolls 2024-02-30 over into March. */
function realDay(t: string): boolean {
  const y = Number(t.slice(0, 4));
  const m = Number(t.slice(5, 7));
  const d = Number(t.slice(8, 10));
  if (t.length > 12 && Number(t.slice(11, 13)) > 23) return false;
  if (m < 1 || m > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
  return d <= days;
}

/**
 * A time given on the command line as µs since the epoch: ISO 8601 (`2024-05-01T10:00:00Z`; no
 * zone means UTC) or seconds since the epoch (`1714557600.25`).
 * @example
 * parseReportTime('1970-01-01T00:00:01Z', '--from'); // 1_000_000
 */
export function parseReportTime(text: string, option: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) {
    const us = Math.round(Number(t) * 1e6);
    if (Number.isSafeInteger(us)) return us;
  } else if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(t)) {
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(t) || t.length === 10 ? t : `${t}Z`;
    const ms = Date.parse(zoned.replace(' ', 'T'));
    if (Number.isFinite(ms) && realDay(t)) {
      const frac = /\.(\d+)/.exec(t.slice(16))?.[1] ?? '';
      // Date keeps milliseconds only: add the sub-millisecond digits back.
      const subMs = frac.length > 3 ? Math.round(Number(`0.${frac.slice(3)}`) * 1000) : 0;
      return ms * 1000 + subMs;
    }
  }
  throw new PipelineError(
    'PCS_USAGE',
    `${option} must be an ISO 8601 time (2024-05-01T10:00:00Z) or seconds since the epoch, got '${text}'`,
  );
}

/**
 * Check a report's parameters before any store is asked: required ones present, window sane.
 * @example
 * checkReportParams(reportDef('host-flows'), { limit: 20, stepS: 1 }); // throws: needs --host
 */
export function checkReportParams(def: ReportDef, p: ReportParams): void {
  for (const r of def.requires) {
    if (p[r] === undefined) {
      const opt = r === 'host' ? '--host' : r === 'fromUs' ? '--from' : '--to';
      throw new PipelineError('PCS_USAGE', `report ${def.name} needs ${opt}`);
    }
  }
  if (p.fromUs !== undefined && p.toUs !== undefined && p.toUs <= p.fromUs) {
    throw new PipelineError('PCS_USAGE', '--to must be later than --from');
  }
  if (!Number.isInteger(p.limit) || p.limit < 1 || p.limit > MAX_REPORT_LIMIT) {
    throw new PipelineError('PCS_USAGE', `--limit must be a whole number from 1 to ${MAX_REPORT_LIMIT}`);
  }
  if (!Number.isInteger(p.stepS) || p.stepS < 1 || p.stepS > 366 * 86400) {
    throw new PipelineError('PCS_USAGE', '--step must be a whole number of seconds from 1 to 31622400');
  }
}
