/**
 * `pcapstream report [name]`: the canned reports (`core/reports.ts`) over a DuckDB file or a
 * Cassandra keyspace, printed like `query` output (table, CSV or JSON lines). Without a name it
 * lists the reports. Every option is checked before the store is opened.
 */
import { PipelineError } from '../../core/errors.ts';
import { checkReportParams, parseReportTime, REPORTS, type ReportParams, reportDef } from '../../core/reports.ts';
import { openReportSource } from '../../query/open-reports.ts';
import { normalizeReportHost } from '../../sinks/report-host.ts';
import { printText, type QueryFormat, renderRows } from './query.ts';

export interface ReportCliOptions {
  /** DuckDB file path or `cassandra://` URL. */
  store: string;
  from?: string;
  to?: string;
  host?: string;
  /** Text from the command line (or a number from a caller). */
  limit: string | number;
  step: string | number;
  format: QueryFormat;
}

/** A whole-number option; anything else becomes NaN, which `checkReportParams` refuses. */
function wholeNumber(v: string | number): number {
  if (typeof v === 'number') return v;
  return /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
}

/**
 * The report parameters of the command line, checked against the report's needs.
 * @example
 * reportParams('traffic', { store: 'x.duckdb', limit: '20', step: '60', format: 'table' });
 */
export function reportParams(name: string, o: ReportCliOptions): ReportParams {
  const def = reportDef(name);
  const p: ReportParams = { limit: wholeNumber(o.limit), stepS: wholeNumber(o.step) };
  if (o.from !== undefined) p.fromUs = parseReportTime(o.from, '--from');
  if (o.to !== undefined) p.toUs = parseReportTime(o.to, '--to');
  if (o.host !== undefined) p.host = normalizeReportHost(o.host);
  checkReportParams(def, p);
  return p;
}

/** The report list: a readable block per report, or one row per report in CSV and JSON. */
function listing(format: QueryFormat): string {
  if (format !== 'table') {
    const rows = REPORTS.map((r) => [
      r.name,
      r.requires.map((x) => (x === 'host' ? '--host' : x === 'fromUs' ? '--from' : '--to')).join(' '),
      r.columns.join(','),
      r.doc,
    ]);
    return renderRows(format, ['report', 'needs', 'columns', 'doc'], rows);
  }
  let out = 'Reports (pcapstream report NAME [--store FILE|URL] [--from T] [--to T] ...):\n';
  for (const r of REPORTS) {
    const needs = r.requires.includes('host') ? ' (needs --host)' : '';
    out += `\n  ${r.name}${needs}\n    ${r.doc}\n    columns: ${r.columns.join(', ')}\n`;
  }
  return out;
}

/**
 * Run the command: list the reports, or check the options, open the store, run one report and
 * print it.
 * @example
 * await reportCommand('top-talkers', { store: 'pcapstream.duckdb', limit: '10', step: '60', format: 'table' });
 */
export async function reportCommand(name: string | undefined, o: ReportCliOptions): Promise<number> {
  if (name === undefined) {
    await printText(listing(o.format));
    return 0;
  }
  const def = reportDef(name);
  const params = reportParams(name, o);
  if (def.name !== 'host-flows' && o.host !== undefined) {
    throw new PipelineError('PCS_USAGE', `--host applies to host-flows only, not ${def.name}`);
  }
  const source = await openReportSource(o.store);
  try {
    const r = await source.run(def.name, params);
    await printText(renderRows(o.format, r.columns, r.rows));
    return 0;
  } finally {
    await source.close();
  }
}
