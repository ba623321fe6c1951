/**
 * `pcapstream cql "<statement>" --store cassandra://...`: read-only ad hoc CQL over the
 * keyspace (one SELECT or DESCRIBE; `query/cql-guard.ts` refuses the rest), printed like
 * `pcapstream query` prints SQL results. Tables resolve in the store's keyspace.
 */
import { PipelineError } from '../../core/errors.ts';
import { guardCql } from '../../query/cql-guard.ts';
import { cassandraClient, connectCassandra, shutdownCassandra } from '../../sinks/cassandra/client.ts';
import { parseStoreAddress } from '../../sinks/store-url.ts';
import { printText, type QueryFormat, renderRows } from './query.ts';

export interface CqlOptions {
  store: string;
  format: QueryFormat;
  maxRows?: number;
}

const DEFAULT_MAX_ROWS = 10_000;

/** A driver value as plain JSON-able data: Long to number (or text past 2^53), bytes to hex. */
function plain(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Set) return [...v].map(plain);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(plain(k)), plain(x)]));
  const o = v as { constructor?: { name?: string }; toString(): string };
  // Long, Uuid, InetAddress, LocalDate, Duration...: their text form.
  if (o.constructor?.name === 'Long') {
    const n = Number(o.toString());
    return Number.isSafeInteger(n) ? n : o.toString();
  }
  if (o.constructor?.name !== 'Object') return o.toString();
  return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, plain(x)]));
}

/**
 * @example
 * await cqlCommand('SELECT count(*) FROM flows', { store: 'cassandra://127.0.0.1/pcapstream', format: 'table' });
 */
export async function cqlCommand(statement: string, o: CqlOptions): Promise<number> {
  const cql = guardCql(statement);
  const a = parseStoreAddress(o.store);
  if (a.kind !== 'cassandra') {
    throw new PipelineError(
      'PCS_USAGE',
      'cql needs --store cassandra://HOST/KEYSPACE (for the DuckDB file: pcapstream query)',
    );
  }
  const maxRows = o.maxRows ?? DEFAULT_MAX_ROWS;
  const client = cassandraClient(a, { useKeyspace: true });
  await connectCassandra(client, a);
  try {
    let columns: string[] = [];
    const rows: unknown[][] = [];
    let truncated = false;
    try {
      // Not prepared: DESCRIBE cannot be, and an ad hoc statement runs once.
      const rs = await client.execute(cql, [], { prepare: false, fetchSize: Math.min(maxRows + 1, 5000) });
      columns = (rs.columns ?? []).map((c) => c.name);
      for await (const r of rs) {
        if (rows.length === maxRows) {
          truncated = true;
          break;
        }
        rows.push(columns.map((c) => plain(r.get(c))));
      }
    } catch (err) {
      const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new PipelineError('PCS_QUERY', `Cassandra refused the statement: ${msg}`, { cause: err });
    }
    await printText(renderRows(o.format, columns, rows));
    if (truncated)
      process.stderr.write(`pcapstream: only the first ${rows.length} rows are shown (raise --max-rows)\n`);
    return 0;
  } finally {
    await shutdownCassandra(client);
  }
}
