/**
 * The canned reports (`core/reports.ts`) answered from a Cassandra keyspace. Cassandra has no
 * GROUP BY across partitions, so each report reads exactly the partitions its window covers
 * (found through the `sensor_days` and `buckets` indexes, never by a scan) with paged,
 * prepared SELECTs of the few columns it needs, and aggregates here.
 */
import { PipelineError } from '../../core/errors.ts';
import {
  HOST_FLOW_COLUMNS,
  type ReportName,
  type ReportParams,
  type ReportResult,
  type ReportSource,
  reportDef,
} from '../../core/reports.ts';
import { normalizeReportHost } from '../report-host.ts';
import { type CassandraStoreAddress, describeStore } from '../store-url.ts';
import { type CassandraClient, cassandraClient, connectCassandra, shutdownCassandra } from './client.ts';
import { DAY_US, type KeyspaceLayout, readLayout } from './schema.ts';

type Cell = string | number | boolean | null;
type Row = { get(name: string): unknown };

/** Partitions read at once per report. */
const READ_CONCURRENCY = 16;
const FETCH_SIZE = 5000;

/** A Cassandra bigint (Long) or int as a JS number. */
function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return 0;
  return Number((v as { toString(): string }).toString());
}

/** Run `fn` over `items` with at most `limit` at once. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** `[lo, hi]` of the units (buckets, days) a window covers; undefined ends stay open. */
function unitRange(p: ReportParams, unitUs: number): [number | undefined, number | undefined] {
  return [
    p.fromUs === undefined ? undefined : Math.floor(p.fromUs / unitUs),
    p.toUs === undefined ? undefined : Math.floor((p.toUs - 1) / unitUs),
  ];
}

/** ` AND col >= ? AND col < ?` for the ends that are set, with their values. */
function rangeClause(col: string, lo: number | undefined, hiExclusive: number | undefined): [string, number[]] {
  let cql = '';
  const params: number[] = [];
  if (lo !== undefined) {
    cql += ` AND ${col} >= ?`;
    params.push(lo);
  }
  if (hiExclusive !== undefined) {
    cql += ` AND ${col} < ?`;
    params.push(hiExclusive);
  }
  return [cql, params];
}

function byKeys<T>(...keys: ((x: T) => number | string)[]): (a: T, b: T) => number {
  return (a, b) => {
    for (const k of keys) {
      const x = k(a);
      const y = k(b);
      if (x < y) return -1;
      if (x > y) return 1;
    }
    return 0;
  };
}

/**
 * @example
 * const reports = await openCassandraReports(address);
 * const { columns, rows } = await reports.run('top-talkers', { limit: 10, stepS: 60 });
 */
export class CassandraReports implements ReportSource {
  private readonly client: CassandraClient;
  private readonly ks: string;
  private readonly layout: KeyspaceLayout;

  constructor(client: CassandraClient, ks: string, layout: KeyspaceLayout) {
    this.client = client;
    this.ks = ks;
    this.layout = layout;
  }

  async run(name: ReportName, params: ReportParams): Promise<ReportResult> {
    const def = reportDef(name);
    const p = params.host === undefined ? params : { ...params, host: normalizeReportHost(params.host) };
    let rows: Cell[][];
    switch (name) {
      case 'top-talkers':
        rows = await this.topTalkers(p);
        break;
      case 'top-ports':
        rows = await this.topPorts(p);
        break;
      case 'host-flows':
        rows = await this.hostFlows(p);
        break;
      case 'traffic':
        rows = await this.traffic(p);
        break;
      case 'alerts':
        rows = await this.alerts(p);
        break;
    }
    return { columns: [...def.columns], rows };
  }

  async close(): Promise<void> {
    await shutdownCassandra(this.client);
  }

  /** Every row of a paged SELECT. */
  private async each(cql: string, params: unknown[], fn: (r: Row) => void): Promise<void> {
    const rs = await this.client.execute(cql, params, { fetchSize: FETCH_SIZE });
    for await (const r of rs) fn(r as Row);
  }

  /** (sensor, day) pairs holding `kind` rows in the window. */
  private async sensorDays(kind: string, p: ReportParams): Promise<{ sensor: string; day: number }[]> {
    const [d0, d1] = unitRange(p, DAY_US);
    const [cond, params] = rangeClause('day', d0, d1 === undefined ? undefined : d1 + 1);
    const out: { sensor: string; day: number }[] = [];
    await this.each(`SELECT day, sensor FROM ${this.ks}.sensor_days WHERE kind = ?${cond}`, [kind, ...params], (r) =>
      out.push({ sensor: String(r.get('sensor')), day: num(r.get('day')) }),
    );
    return out;
  }

  /** (sensor, bucket) pairs holding `kind` rows in the window, in bucket order. */
  private async buckets(kind: 'flows' | 'alerts', p: ReportParams): Promise<{ sensor: string; bucket: number }[]> {
    const [b0, b1] = unitRange(p, this.layout.bucketS * 1_000_000);
    const [cond, params] = rangeClause('bucket', b0, b1 === undefined ? undefined : b1 + 1);
    const out: { sensor: string; bucket: number }[] = [];
    await eachLimited(await this.sensorDays(kind, p), READ_CONCURRENCY, (sd) =>
      this.each(
        `SELECT bucket FROM ${this.ks}.buckets WHERE kind = ? AND sensor = ? AND day = ?${cond}`,
        [kind, sd.sensor, sd.day, ...params],
        (r) => out.push({ sensor: sd.sensor, bucket: num(r.get('bucket')) }),
      ),
    );
    return out.sort(
      byKeys(
        (x) => x.bucket,
        (x) => x.sensor,
      ),
    );
  }

  /** Every flow that started in the window (latest state: one row per uid), selected columns. */
  private async eachFlow(columns: string, p: ReportParams, fn: (r: Row) => void): Promise<void> {
    const [cond, params] = rangeClause('first_seen_us', p.fromUs, p.toUs);
    const parts: { sensor: string; bucket: number; shard: number }[] = [];
    for (const b of await this.buckets('flows', p)) {
      for (let shard = 0; shard < this.layout.shards; shard++) parts.push({ ...b, shard });
    }
    // A flow written under two sensor names (the same capture stored twice) is two rows with
    // one uid: count it once, like the file store. One sensor's rows are unique by their key,
    // so the set (memory per flow) is only kept when the window spans sensors.
    const seen = new Set(parts.map((x) => x.sensor)).size > 1 ? new Set<string>() : null;
    await eachLimited(parts, READ_CONCURRENCY, (x) =>
      this.each(
        `SELECT flow_uid, ${columns} FROM ${this.ks}.flows WHERE sensor = ? AND bucket = ? AND shard = ?${cond}`,
        [x.sensor, x.bucket, x.shard, ...params],
        (r) => {
          if (seen !== null) {
            const uid = String(r.get('flow_uid'));
            if (seen.has(uid)) return;
            seen.add(uid);
          }
          fn(r);
        },
      ),
    );
  }

  private async topTalkers(p: ReportParams): Promise<Cell[][]> {
    const acc = new Map<string, [number, number, number]>();
    const add = (host: string, packets: number, bytes: number): void => {
      const a = acc.get(host);
      if (a === undefined) acc.set(host, [1, packets, bytes]);
      else {
        a[0]++;
        a[1] += packets;
        a[2] += bytes;
      }
    };
    await this.eachFlow('src_ip, dest_ip, fwd_packets, bwd_packets, fwd_bytes, bwd_bytes', p, (r) => {
      const packets = num(r.get('fwd_packets')) + num(r.get('bwd_packets'));
      const bytes = num(r.get('fwd_bytes')) + num(r.get('bwd_bytes'));
      const src = String(r.get('src_ip'));
      const dst = String(r.get('dest_ip'));
      add(src, packets, bytes);
      if (dst !== src) add(dst, packets, bytes);
    });
    return [...acc]
      .map(([host, [flows, packets, bytes]]) => [host, flows, packets, bytes] as [string, number, number, number])
      .sort(
        byKeys(
          (x) => -x[3],
          (x) => -x[2],
          (x) => x[0],
        ),
      )
      .slice(0, p.limit);
  }

  private async topPorts(p: ReportParams): Promise<Cell[][]> {
    const acc = new Map<string, [string, number, number, number, number]>();
    await this.eachFlow(
      'protocol, protocol_name, dest_port, fwd_packets, bwd_packets, fwd_bytes, bwd_bytes',
      p,
      (r) => {
        const proto = num(r.get('protocol'));
        if (proto !== 6 && proto !== 17 && proto !== 132) return;
        const name = String(r.get('protocol_name'));
        const port = num(r.get('dest_port'));
        const key = `${name}/${port}`;
        const packets = num(r.get('fwd_packets')) + num(r.get('bwd_packets'));
        const bytes = num(r.get('fwd_bytes')) + num(r.get('bwd_bytes'));
        const a = acc.get(key);
        if (a === undefined) acc.set(key, [name, port, 1, packets, bytes]);
        else {
          a[2]++;
          a[3] += packets;
          a[4] += bytes;
        }
      },
    );
    return [...acc.values()]
      .sort(
        byKeys(
          (x) => -x[4],
          (x) => -x[2],
          (x) => x[0],
          (x) => x[1],
        ),
      )
      .slice(0, p.limit);
  }

  private async hostFlows(p: ReportParams): Promise<Cell[][]> {
    const host = p.host!;
    const [cond, params] = rangeClause('first_seen_us', p.fromUs, p.toUs);
    const buckets = [...new Set((await this.buckets('flows', p)).map((b) => b.bucket))].sort((a, b) => a - b);
    const out: Cell[][] = [];
    // Buckets in time order, rows clustered by (first_seen_us, flow_uid) within each: the first
    // `limit` rows found in order are the answer, so reading stops there.
    for (const bucket of buckets) {
      const rows: Cell[][] = [];
      await this.each(
        `SELECT ${HOST_FLOW_COLUMNS.join(', ')} FROM ${this.ks}.flows_by_host WHERE host = ? AND bucket = ?${cond}`,
        [host, bucket, ...params],
        // The table's key has no sensor: a flow stored by two sensors is one row here.
        (r) => {
          rows.push(
            HOST_FLOW_COLUMNS.map((c) => {
              const v = r.get(c);
              return typeof v === 'string' || typeof v === 'boolean' ? v : v === null ? null : num(v);
            }),
          );
        },
      );
      out.push(...rows);
      if (out.length >= p.limit) break;
    }
    return out.slice(0, p.limit);
  }

  private async traffic(p: ReportParams): Promise<Cell[][]> {
    const stepUs = p.stepS * 1_000_000;
    const [cond, params] = rangeClause('start_us', p.fromUs, p.toUs);
    const acc = new Map<number, [number, number, number]>();
    await eachLimited(await this.sensorDays('metrics', p), READ_CONCURRENCY, (sd) =>
      this.each(
        `SELECT start_us, packets, bytes, new_flows FROM ${this.ks}.metrics WHERE sensor = ? AND window_s = 1 AND day = ?${cond}`,
        [sd.sensor, sd.day, ...params],
        (r) => {
          const start = num(r.get('start_us'));
          const slot = start - (((start % stepUs) + stepUs) % stepUs);
          const a = acc.get(slot) ?? [0, 0, 0];
          a[0] += num(r.get('packets'));
          a[1] += num(r.get('bytes'));
          a[2] += num(r.get('new_flows'));
          acc.set(slot, a);
        },
      ),
    );
    return [...acc]
      .filter(([, a]) => a[0] > 0)
      .sort((x, y) => x[0] - y[0])
      .map(([start, [packets, bytes, flows]]) => [start, packets, bytes, flows]);
  }

  private async alerts(p: ReportParams): Promise<Cell[][]> {
    const [cond, params] = rangeClause('ts_us', p.fromUs, p.toUs);
    const rows = new Map<string, Cell[]>();
    await eachLimited(await this.buckets('alerts', p), READ_CONCURRENCY, (b) =>
      this.each(
        `SELECT ts_us, frame_number, code, src_ip, dest_ip, protocol FROM ${this.ks}.alerts WHERE sensor = ? AND bucket = ?${cond}`,
        [b.sensor, b.bucket, ...params],
        (r) => {
          const row: Cell[] = [
            num(r.get('ts_us')),
            num(r.get('frame_number')),
            String(r.get('code')),
            String(r.get('src_ip')),
            String(r.get('dest_ip')),
            num(r.get('protocol')),
          ];
          // Identical rows from two sensors (the same capture twice) are one alert.
          rows.set(JSON.stringify(row), row);
        },
      ),
    );
    return [...rows.values()]
      .sort(
        byKeys(
          (x) => x[0] as number,
          (x) => x[1] as number,
          (x) => x[2] as string,
        ),
      )
      .slice(0, p.limit);
  }
}

/**
 * Connect read-only use of a keyspace for reports; `PCS_STORE_OPEN` when Cassandra cannot be
 * reached or the keyspace holds no pcapstream data.
 * @example
 * const r = await openCassandraReports(parseStoreAddress(url) as CassandraStoreAddress);
 */
export async function openCassandraReports(a: CassandraStoreAddress): Promise<CassandraReports> {
  const client = cassandraClient(a);
  await connectCassandra(client, a);
  try {
    const ks = await client.execute('SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?', [
      a.keyspace,
    ]);
    const layout = ks.rowLength === 0 ? null : await readLayout(client, a.keyspace);
    if (layout === null) {
      throw new PipelineError(
        'PCS_STORE_OPEN',
        `no pcapstream data in keyspace ${a.keyspace} at ${describeStore(a)} (run or sink with --store creates it)`,
      );
    }
    return new CassandraReports(client, a.keyspace, layout);
  } catch (err) {
    await shutdownCassandra(client);
    throw err;
  }
}
