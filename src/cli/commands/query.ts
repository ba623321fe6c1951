/**
 * `pcapstream query "<SQL>"`: read-only ad hoc SQL over a store file, printed as an aligned
 * table, RFC 4180 CSV or JSON lines. The guard and the value mapping are the read model's
 * (`query/read-model.ts`); this file only formats.
 */
import { ReadModel } from '../../query/read-model.ts';
import { LineWriter } from '../../sinks/stdout/line-writer.ts';

export type QueryFormat = 'table' | 'csv' | 'json';

export interface QueryOptions {
  db: string;
  format: QueryFormat;
  /** Default: the read model's (10000). */
  maxRows?: number;
}

/** A value as one line of text: NULL empty (csv) or 'NULL' (table), nested values as JSON. */
function cellText(v: unknown, nullText: string): string {
  if (v === null || v === undefined) return nullText;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** Column names made unique (`a`, `a_2`, ...) so JSON objects keep every column. */
function uniqueNames(columns: string[]): string[] {
  const used = new Set<string>();
  return columns.map((c) => {
    let name = c;
    for (let k = 2; used.has(name); k++) name = `${c}_${k}`;
    used.add(name);
    return name;
  });
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * RFC 4180: a header record, CRLF line breaks, fields quoted when they hold a comma, quote or
 * line break; NULL is an empty field.
 * @example
 * formatCsv(['a', 'b'], [[1, 'x,y']]); // 'a,b\r\n1,"x,y"\r\n'
 */
export function formatCsv(columns: string[], rows: unknown[][]): string {
  const lines = [columns.map(csvField).join(',')];
  for (const r of rows) lines.push(r.map((v) => csvField(cellText(v, ''))).join(','));
  return lines.join('\r\n') + '\r\n';
}

/**
 * One JSON object per row, keys in column order (duplicates suffixed `_2`, `_3`, ...).
 * @example
 * formatJsonLines(['a'], [[1], [2]]); // '{"a":1}\n{"a":2}\n'
 */
export function formatJsonLines(columns: string[], rows: unknown[][]): string {
  const names = uniqueNames(columns);
  let out = '';
  for (const r of rows) {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) o[names[i]!] = r[i] ?? null;
    out += JSON.stringify(o) + '\n';
  }
  return out;
}

/** Printable form of a cell in a table: control characters escaped so rows stay on one line. */
function tableCell(v: unknown): string {
  return cellText(v, 'NULL').replace(/[\u0000-\u001f\u007f]/g, (c) =>
    c === '\t'
      ? '\\t'
      : c === '\n'
        ? '\\n'
        : c === '\r'
          ? '\\r'
          : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/**
 * Aligned text columns: header, a rule, one line per row (numbers right-aligned), then a row count.
 * @example
 * formatTable(['n'], [[1]]); // ' n\n--\n 1\n(1 row)\n'
 */
export function formatTable(columns: string[], rows: unknown[][]): string {
  const cells = rows.map((r) => r.map(tableCell));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const right = columns.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === null));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (right[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(columns.map(tableCell)), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of cells) out.push(line(r));
  out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return out.join('\n') + '\n';
}

/**
 * Rows in the chosen format.
 * @example
 * renderRows('csv', ['a'], [[1]]); // 'a\r\n1\r\n'
 */
export function renderRows(format: QueryFormat, columns: string[], rows: unknown[][]): string {
  if (format === 'csv') return formatCsv(columns, rows);
  if (format === 'json') return formatJsonLines(columns, rows);
  return formatTable(columns, rows);
}

/**
 * Write text to stdout; a closed pipe (`| head`) ends the output quietly.
 * @example
 * await printText(renderRows('table', columns, rows));
 */
export async function printText(text: string): Promise<void> {
  const out = new LineWriter();
  out.bytes(Buffer.from(text, 'utf8'));
  await out.end();
}

/**
 * Run the command: open the store read-only, run the one statement, print it.
 * @example
 * await queryCommand('SELECT count(*) FROM flows', { db: 'pcapstream.duckdb', format: 'table', maxRows: 10000 });
 */
export async function queryCommand(sql: string, opts: QueryOptions): Promise<number> {
  const rm = await ReadModel.open(opts.db);
  try {
    const r = await rm.query(sql, { maxRows: opts.maxRows });
    await printText(renderRows(opts.format, r.columns, r.rows));
    if (r.truncated) {
      process.stderr.write(`pcapstream: only the first ${r.rows.length} rows are shown (raise --max-rows)\n`);
    }
    return 0;
  } finally {
    await rm.close();
  }
}
