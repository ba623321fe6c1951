/**
 * Test helpers for the dashboard: an in-memory read model with deterministic data, a mutable run
 * health, and an SSE reader. The read model follows the contract of `src/query/read-model.ts`
 * (filters, newest-first flows, oldest-first windows, merged top lists) so the server's own
 * logic can be tested without a store.
 */
import type { DashboardReadModel } from '../../src/dashboard/server.ts';
import type { MetricWindow, RunHealth, TopEntry } from '../../src/flow/records.ts';
import type { FlowRow, StoreSummary } from '../../src/query/read-model.ts';

/** The options argument of the real read model's method `K`: the fake takes the same. */
type Options<K extends 'metrics' | 'flows' | 'top' | 'anomalies'> = NonNullable<Parameters<DashboardReadModel[K]>[0]>;

/** Start of the fake data: 2025-01-01T00:00:00Z in µs. */
export const T0_US = 1_735_689_600_000_000;

/** A flow between 10.0.0.<i%50+1> and 192.0.2.<i%7+1>, alternating TCP/UDP/ICMP. */
export function fakeFlow(i: number): FlowRow {
  const protocol = [6, 17, 1][i % 3]!;
  const first = T0_US + i * 100_000;
  return {
    flow_id: i + 1,
    flow_uid: (0xf10 + i).toString(16).padStart(16, '0'),
    community_id: `1:fake${i}=`,
    first_seen_us: first,
    last_seen_us: first + 50_000,
    duration_us: 50_000,
    ip_version: 4,
    protocol,
    protocol_name: protocol === 6 ? 'tcp' : protocol === 17 ? 'udp' : 'icmp',
    src_ip: `10.0.0.${(i % 50) + 1}`,
    src_port: protocol === 1 ? 0 : 40000 + i,
    dest_ip: `192.0.2.${(i % 7) + 1}`,
    dest_port: protocol === 6 ? 443 : protocol === 17 ? 53 : 0,
    vlan_id: -1,
    tunnel_type: '',
    fwd_packets: 3 + (i % 4),
    bwd_packets: 2 + (i % 3),
    fwd_bytes: 300 + i,
    bwd_bytes: 200 + i,
    fwd_payload_bytes: 100,
    bwd_payload_bytes: 50,
    fwd_tcp_flags: protocol === 6 ? 0x13 : 0,
    bwd_tcp_flags: protocol === 6 ? 0x12 : 0,
    end_reason: protocol === 6 ? 'fin' : 'idle',
    partial: false,
  };
}

/** A metric window of `len` seconds starting `index` windows after T0. */
export function fakeWindow(len: 1 | 60, index: number): MetricWindow {
  const packets = 100 + ((index * 37) % 50);
  const talker = (k: number): TopEntry => ({ key: `10.0.0.${k}`, packets: 10 * k + index, bytes: 1000 * k });
  return {
    window_s: len,
    start_us: T0_US + index * len * 1_000_000,
    packets,
    bytes: packets * 120,
    protocols: { tcp: { packets: packets - 10, bytes: (packets - 10) * 120 }, udp: { packets: 10, bytes: 1200 } },
    new_flows: 5,
    ended_flows: 4,
    tcp_syn: 3,
    tcp_rst: 1,
    dns_queries: 2,
    dns_nxdomain: index % 2,
    anomalies: index % 5 === 0 ? { 'ipv4.checksum_invalid': 1 } : {},
    top_talkers: [talker(3), talker(2), talker(1)],
    top_ports: [
      { key: '443', packets: 50, bytes: 6000 },
      { key: '53', packets: 10, bytes: 900 },
    ],
    top_conversations: [{ key: '10.0.0.1:40000 <-> 192.0.2.1:443 tcp', packets: 20, bytes: 2400 }],
    losses: { flows_evicted: 0, flows_refused: 0 },
  };
}

/** Health of a run in progress; tests mutate it. */
export function fakeHealth(): RunHealth {
  return {
    state: 'running',
    input: 'capture.pcap',
    started_ms: Date.UTC(2025, 0, 1),
    elapsed_s: 1.5,
    progress: 0.25,
    packets: 1000,
    bytes: 120_000,
    packets_per_s: 650,
    bytes_per_s: 78_000,
    flows_live: 12,
    flows_total: 40,
    records_stored: 30,
    anomalies: 2,
    losses: { flows_evicted: 0, flows_refused: 0, decode_errors: 0 },
  };
}

/** Error the fake read model throws for refused SQL, like the real guard. */
export class FakeRefusal extends Error {}

/**
 * In-memory read model: `flowRows`, `windows` and `anomalyRows` are public so tests add data as
 * a run would; `calls` counts calls per method; `lastArgs` keeps each method's last argument.
 */
export class FakeReadModel implements DashboardReadModel {
  flowRows: FlowRow[] = [];
  windows: MetricWindow[] = [];
  anomalyRows: { code: string; count: number; last_us: number }[] = [];
  calls: Record<string, number> = {};
  lastArgs: Record<string, unknown> = {};

  private count(name: string, arg: unknown): void {
    this.calls[name] = (this.calls[name] ?? 0) + 1;
    this.lastArgs[name] = arg;
  }

  async query(sql: string, opts?: { maxRows?: number }) {
    this.count('query', { sql, opts });
    if (!/^\s*select\b/i.test(sql)) throw new FakeRefusal(`refused: only SELECT statements are allowed`);
    if (/count\(\*\)\s+from\s+flows/i.test(sql)) {
      return { columns: ['count_star()'], rows: [[this.flowRows.length]], truncated: false };
    }
    return { columns: ['x'], rows: [[1]], truncated: false };
  }

  async summary(): Promise<StoreSummary> {
    this.count('summary', undefined);
    const by = new Map<string, { protocol: string; flows: number; packets: number; bytes: number }>();
    let first: number | null = null;
    let last: number | null = null;
    for (const f of this.flowRows) {
      const e = by.get(f.protocol_name) ?? { protocol: f.protocol_name, flows: 0, packets: 0, bytes: 0 };
      e.flows++;
      e.packets += f.fwd_packets + f.bwd_packets;
      e.bytes += f.fwd_bytes + f.bwd_bytes;
      by.set(f.protocol_name, e);
      first = first === null ? f.first_seen_us : Math.min(first, f.first_seen_us);
      last = last === null ? f.last_seen_us : Math.max(last, f.last_seen_us);
    }
    const rows = [...by.values()];
    return {
      flows: this.flowRows.length,
      packets: rows.reduce((a, r) => a + r.packets, 0),
      bytes: rows.reduce((a, r) => a + r.bytes, 0),
      first_us: first,
      last_us: last,
      anomalies: this.anomalyRows.reduce((a, r) => a + r.count, 0),
      by_protocol: rows,
    };
  }

  async metrics(o: Options<'metrics'>) {
    this.count('metrics', o);
    return this.windows
      .filter((w) => w.window_s === o.window_s && (o.since_us === undefined || w.start_us >= o.since_us))
      .sort((a, b) => a.start_us - b.start_us)
      .slice(0, o.limit ?? 1000);
  }

  async flows(o: Options<'flows'>) {
    this.count('flows', o);
    const rows = this.flowRows
      .filter(
        (f) =>
          (o.protocol === undefined || f.protocol_name === o.protocol) &&
          (o.ip === undefined || f.src_ip === o.ip || f.dest_ip === o.ip) &&
          (o.port === undefined || f.src_port === o.port || f.dest_port === o.port) &&
          (o.since_us === undefined || f.last_seen_us >= o.since_us),
      )
      .sort((a, b) => b.first_seen_us - a.first_seen_us || b.flow_id - a.flow_id);
    const offset = o.offset ?? 0;
    return rows.slice(offset, offset + (o.limit ?? 100));
  }

  async top(o: Options<'top'>) {
    this.count('top', o);
    const field = o.kind === 'talkers' ? 'top_talkers' : o.kind === 'ports' ? 'top_ports' : 'top_conversations';
    const merged = new Map<string, TopEntry>();
    for (const w of this.windows) {
      if (w.window_s !== o.window_s || (o.since_us !== undefined && w.start_us < o.since_us)) continue;
      for (const e of w[field]) {
        const m = merged.get(e.key) ?? { key: e.key, packets: 0, bytes: 0 };
        m.packets += e.packets;
        m.bytes += e.bytes;
        merged.set(e.key, m);
      }
    }
    return [...merged.values()]
      .sort((a, b) => b.packets - a.packets || b.bytes - a.bytes || a.key.localeCompare(b.key))
      .slice(0, o.n ?? 10);
  }

  async anomalies(o: Options<'anomalies'>) {
    this.count('anomalies', o);
    return [...this.anomalyRows].sort((a, b) => b.count - a.count).slice(0, o.limit ?? 100);
  }
}

/** A read model holding `flows` flows, `seconds` 1 s windows and the matching 60 s windows. */
export function filledReadModel(flows: number, seconds: number): FakeReadModel {
  const rm = new FakeReadModel();
  for (let i = 0; i < flows; i++) rm.flowRows.push(fakeFlow(i));
  for (let i = 0; i < seconds; i++) rm.windows.push(fakeWindow(1, i));
  for (let i = 0; i * 60 < seconds; i++) rm.windows.push(fakeWindow(60, i));
  rm.anomalyRows.push({ code: 'ipv4.checksum_invalid', count: 3, last_us: T0_US + 2_000_000 });
  return rm;
}

/** One Server-Sent Event as received. */
export interface SSEEvent {
  event: string;
  id: string | undefined;
  data: unknown;
}

/**
 * Reads an SSE response body and hands out parsed events.
 * @example
 * const sse = new SSEReader(await fetch(url + 'api/events'));
 * const e = await sse.next('health');
 */
export class SSEReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = '';
  private readonly queue: SSEEvent[] = [];
  /** Every event received so far. */
  readonly seen: SSEEvent[] = [];

  constructor(res: Response) {
    if (res.body === null) throw new Error('no body');
    this.reader = res.body.getReader();
  }

  /** The next event (of type `event` when given, skipping others), failing after `timeoutMs`. */
  async next(event?: string, timeoutMs = 3000): Promise<SSEEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.queue.length > 0) {
        const e = this.queue.shift()!;
        if (event === undefined || e.event === event) return e;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no "${event ?? 'any'}" event within ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        this.reader.read(),
        new Promise<'timeout'>((r) => {
          timer = setTimeout(() => r('timeout'), left);
        }),
      ]);
      clearTimeout(timer);
      if (chunk === 'timeout') continue;
      if (chunk.done) throw new Error('event stream ended');
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
      this.parse();
    }
  }

  private parse(): void {
    let end = this.buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = 'message';
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'id') id = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) {
        const e = { event, id, data: JSON.parse(data.join('\n')) as unknown };
        this.queue.push(e);
        this.seen.push(e);
      }
      end = this.buffer.indexOf('\n\n');
    }
  }

  /** Stop reading (closes the connection). */
  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }
}
