/**
 * `pcapstream report` on stores written by `pcapstream run`, checked against answers computed
 * here from other commands' output for the same captures: `flows --format jsonl` (same flow
 * settings) for the flow reports, `decode` packet times, lengths and anomaly codes for traffic
 * and alerts. Captures: a synthetic mix (IPv4 and IPv6, many hosts), a corpus capture with long
 * flows written as partial updates, and a corpus capture with anomalies over 44 s. Also the
 * output formats, the report list, and the one-line errors with their exit codes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EXIT_OUTPUT, EXIT_USAGE } from '../../src/cli/exit-codes.ts';
import { HOST_FLOW_COLUMNS } from '../../src/core/reports.ts';
import type { FlowRecord } from '../../src/flow/records.ts';
import { corpusPath } from '../helpers/corpus.ts';
import { holdStore } from '../helpers/store-records.ts';

const BIN = fileURLToPath(new URL('../../bin/pcapstream.js', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pcapstream-report-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', maxBuffer: 1 << 28 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function ok(args: string[]): string {
  const r = cli(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
  return r.out;
}

const jsonLines = (s: string): Record<string, unknown>[] =>
  s
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

type Cell = string | number | boolean | null;

/** A report's rows through `--format json`, checking the keys come in the documented order. */
function report(store: string, name: string, opts: string[] = [], columns?: readonly string[]): Cell[][] {
  const objs = jsonLines(ok(['report', name, '--store', store, '--format', 'json', ...opts]));
  return objs.map((o) => {
    if (columns !== undefined) assert.deepEqual(Object.keys(o), columns);
    return Object.values(o) as Cell[];
  });
}

type Flow = Pick<
  FlowRecord,
  | 'flow_uid'
  | 'first_seen_us'
  | 'last_seen_us'
  | 'protocol'
  | 'protocol_name'
  | 'src_ip'
  | 'src_port'
  | 'dest_ip'
  | 'dest_port'
  | 'fwd_packets'
  | 'bwd_packets'
  | 'fwd_bytes'
  | 'bwd_bytes'
  | 'end_reason'
  | 'partial'
>;

interface Packet {
  frame: number;
  tsUs: number;
  length: number;
  src: string;
  dst: string;
  protocol: number;
  anomalies: string[];
}

/** Each flow once: its final record, else its newest partial one. */
function latest(records: Flow[]): Flow[] {
  const by = new Map<string, Flow>();
  for (const r of records) {
    const cur = by.get(r.flow_uid);
    if (cur === undefined || (cur.partial && (!r.partial || r.last_seen_us > cur.last_seen_us))) by.set(r.flow_uid, r);
  }
  return [...by.values()];
}

interface Window {
  from?: number;
  to?: number;
}

const inWindow = (t: number, w: Window) => (w.from === undefined || t >= w.from) && (w.to === undefined || t < w.to);
const cmp = (a: Cell, b: Cell) => (a === b ? 0 : (a as string | number) < (b as string | number) ? -1 : 1);

function sortBy(rows: Cell[][], keys: [number, 1 | -1][]): Cell[][] {
  return rows.sort((x, y) => {
    for (const [k, dir] of keys) {
      const c = cmp(x[k]!, y[k]!) * dir;
      if (c !== 0) return c;
    }
    return 0;
  });
}

function refTalkers(flows: Flow[], w: Window): Cell[][] {
  const acc = new Map<string, [number, number, number]>();
  for (const f of flows) {
    if (!inWindow(f.first_seen_us, w)) continue;
    for (const h of f.src_ip === f.dest_ip ? [f.src_ip] : [f.src_ip, f.dest_ip]) {
      const a = acc.get(h) ?? [0, 0, 0];
      a[0]++;
      a[1] += f.fwd_packets + f.bwd_packets;
      a[2] += f.fwd_bytes + f.bwd_bytes;
      acc.set(h, a);
    }
  }
  return sortBy(
    [...acc].map(([h, a]) => [h, ...a]),
    [
      [3, -1],
      [2, -1],
      [0, 1],
    ],
  );
}

function refPorts(flows: Flow[], w: Window): Cell[][] {
  const acc = new Map<string, Cell[]>();
  for (const f of flows) {
    if (!inWindow(f.first_seen_us, w) || ![6, 17, 132].includes(f.protocol)) continue;
    const key = `${f.protocol_name}/${f.dest_port}`;
    const a = acc.get(key) ?? [f.protocol_name, f.dest_port, 0, 0, 0];
    (a[2] as number)++;
    (a[3] as number) += f.fwd_packets + f.bwd_packets;
    (a[4] as number) += f.fwd_bytes + f.bwd_bytes;
    acc.set(key, a);
  }
  return sortBy(
    [...acc.values()],
    [
      [4, -1],
      [2, -1],
      [0, 1],
      [1, 1],
    ],
  );
}

function refHostFlows(flows: Flow[], host: string, w: Window): Cell[][] {
  const rows = flows
    .filter((f) => (f.src_ip === host || f.dest_ip === host) && inWindow(f.first_seen_us, w))
    .map((f) => HOST_FLOW_COLUMNS.map((c) => f[c]));
  return sortBy(rows, [
    [1, 1],
    [0, 1],
  ]);
}

/** Traffic from packet times: packets and bytes per step; new flows by first_seen_us. */
function refTraffic(packets: Packet[], flows: Flow[], stepS: number, w: Window): Cell[][] {
  const stepUs = stepS * 1_000_000;
  // The metric windows are 1 s: the window bounds apply to the second a packet falls in.
  const second = (t: number) => t - (t % 1_000_000);
  const acc = new Map<number, [number, number, number]>();
  const slot = (t: number) => {
    const s = second(t);
    const k = s - (s % stepUs);
    const a = acc.get(k) ?? [0, 0, 0];
    acc.set(k, a);
    return a;
  };
  for (const p of packets) {
    if (!inWindow(second(p.tsUs), w)) continue;
    const a = slot(p.tsUs);
    a[0]++;
    a[1] += p.length;
  }
  for (const f of flows) if (inWindow(second(f.first_seen_us), w)) slot(f.first_seen_us)[2]++;
  return [...acc]
    .filter(([, a]) => a[0] > 0)
    .sort((x, y) => x[0] - y[0])
    .map(([k, a]) => [k, ...a]);
}

function refAlerts(packets: Packet[], w: Window): Cell[][] {
  const rows: Cell[][] = [];
  for (const p of packets) {
    if (!inWindow(p.tsUs, w)) continue;
    for (const code of p.anomalies) rows.push([p.tsUs, p.frame, code, p.src, p.dst, p.protocol]);
  }
  return sortBy(rows, [
    [0, 1],
    [1, 1],
    [2, 1],
  ]);
}

function flowsOf(capture: string, flowOpts: string[]): Flow[] {
  return jsonLines(ok(['flows', capture, '--format', 'jsonl', '--features', 'none', ...flowOpts])) as unknown as Flow[];
}

/** Packet times as exact µs from the decoder's text (these captures have µs resolution). */
function packetsOf(capture: string): Packet[] {
  const out = ok([
    'decode',
    capture,
    '--fields',
    'frame_number,timestamp,frame_length,src_ip,dst_ip,protocol,anomalies',
  ]);
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const ts = /"timestamp":(\d+)\.(\d{6})[,}]/.exec(l);
      assert.ok(ts !== null, l);
      const o = JSON.parse(l) as Record<string, unknown>;
      return {
        frame: o.frame_number as number,
        tsUs: Number(ts[1]) * 1_000_000 + Number(ts[2]),
        length: o.frame_length as number,
        src: (o.src_ip as string | undefined) ?? '',
        dst: (o.dst_ip as string | undefined) ?? '',
        protocol: (o.protocol as number | undefined) ?? 0,
        anomalies: (o.anomalies as string[] | undefined) ?? [],
      };
    });
}

function runInto(store: string, capture: string, flowOpts: string[] = []): void {
  ok(['run', capture, '--db', store, '--no-dashboard', '--exit', ...flowOpts]);
}

const BIG = ['--limit', '1000000'];

interface Case {
  store: string;
  flows: Flow[];
  packets: Packet[];
}

let synth: Case;
let partials: Case;
let alerts: Case;
let rerunSynth: string;
let rerunAlerts: string;

before(() => {
  const capture = path.join(tmp, 'synth.pcap');
  ok(['synth', '--out', capture, '--packets', '20000', '--seed', '5']);
  synth = { store: path.join(tmp, 'synth.duckdb'), flows: latest(flowsOf(capture, [])), packets: packetsOf(capture) };
  runInto(synth.store, capture);
  rerunSynth = path.join(tmp, 'synth-twice.duckdb');
  runInto(rerunSynth, capture);
  runInto(rerunSynth, capture);

  // Flows up to two minutes long, stored with partial updates every 10 s of packet time.
  const tls = corpusPath('ppp__LARGE_tls_v4_v6.pcap');
  const every = ['--partial-every', '10'];
  const tlsFlows = flowsOf(tls, every);
  assert.ok(tlsFlows.some((f) => f.partial));
  partials = { store: path.join(tmp, 'tls.duckdb'), flows: latest(tlsFlows), packets: packetsOf(tls) };
  runInto(partials.store, tls, every);

  const frag = corpusPath('ppp__LARGE_ip_fragments.pcap');
  alerts = { store: path.join(tmp, 'frag.duckdb'), flows: latest(flowsOf(frag, [])), packets: packetsOf(frag) };
  runInto(alerts.store, frag);
  rerunAlerts = path.join(tmp, 'frag-twice.duckdb');
  runInto(rerunAlerts, frag);
  runInto(rerunAlerts, frag);
});

/** The flow whose first_seen_us is the median: a window edge that cuts the capture. */
function cut(flows: Flow[]): Flow {
  const sorted = [...flows].sort((a, b) => a.first_seen_us - b.first_seen_us);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The address in the most flows. */
function busiest(flows: Flow[]): string {
  const n = new Map<string, number>();
  for (const f of flows) for (const h of [f.src_ip, f.dest_ip]) n.set(h, (n.get(h) ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1])[0]![0];
}

describe('pcapstream report: flow reports against the flows command', () => {
  for (const [label, get] of [
    ['synthetic mix', () => synth],
    ['partial updates', () => partials],
  ] as const) {
    it(`${label}: top-talkers, top-ports and host-flows over the whole store`, () => {
      const c = get();
      assert.ok(c.flows.length > 100);
      const talkers = refTalkers(c.flows, {});
      assert.deepEqual(report(c.store, 'top-talkers', BIG, ['host', 'flows', 'packets', 'bytes']), talkers);
      assert.deepEqual(report(c.store, 'top-talkers'), talkers.slice(0, 20));
      assert.deepEqual(report(c.store, 'top-talkers', ['--limit', '3']), talkers.slice(0, 3));
      const ports = refPorts(c.flows, {});
      assert.deepEqual(
        report(c.store, 'top-ports', BIG, ['protocol_name', 'port', 'flows', 'packets', 'bytes']),
        ports,
      );
      const host = busiest(c.flows);
      const hf = report(c.store, 'host-flows', ['--host', host, ...BIG], HOST_FLOW_COLUMNS);
      assert.deepEqual(hf, refHostFlows(c.flows, host, {}));
      assert.ok(hf.length > 5);
      // Totals: every flow's packets once for each distinct end.
      const sum = (rows: Cell[][], i: number) => rows.reduce((s, r) => s + (r[i] as number), 0);
      const want = c.flows.reduce((s, f) => s + (f.fwd_packets + f.bwd_packets) * (f.src_ip === f.dest_ip ? 1 : 2), 0);
      assert.equal(sum(talkers, 2), want);
    });

    it(`${label}: a window cutting the capture, from inclusive and to exclusive`, () => {
      const c = get();
      const edge = cut(c.flows);
      const t = String(edge.first_seen_us / 1e6);
      const before = { to: edge.first_seen_us };
      const after = { from: edge.first_seen_us };
      assert.deepEqual(report(c.store, 'top-talkers', ['--to', t, ...BIG]), refTalkers(c.flows, before));
      assert.deepEqual(report(c.store, 'top-talkers', ['--from', t, ...BIG]), refTalkers(c.flows, after));
      assert.deepEqual(report(c.store, 'top-ports', ['--from', t, ...BIG]), refPorts(c.flows, after));
      const mid = { from: edge.first_seen_us, to: edge.first_seen_us + 1 };
      const one = report(c.store, 'host-flows', [
        '--host',
        edge.src_ip,
        '--from',
        t,
        '--to',
        String((edge.first_seen_us + 1) / 1e6),
      ]);
      assert.deepEqual(one, refHostFlows(c.flows, edge.src_ip, mid));
      assert.ok(one.some((r) => r[0] === edge.flow_uid));
      const upTo = report(c.store, 'host-flows', ['--host', edge.src_ip, '--to', t, ...BIG]);
      assert.ok(!upTo.some((r) => r[0] === edge.flow_uid));
      assert.deepEqual(upTo, refHostFlows(c.flows, edge.src_ip, before));
    });
  }

  it('an IPv6 host in any spelling finds the flows stored under its RFC 5952 text', () => {
    const v6 = busiest(synth.flows.filter((f) => f.dest_ip.includes(':')));
    assert.ok(v6.includes('::'), v6);
    // Every group written out in four upper-case digits.
    const [head, tail] = v6.split('::').map((h) => (h === '' ? [] : h.split(':'))) as [string[], string[]];
    const groups = [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
    const longhand = groups.map((g) => g.padStart(4, '0').toUpperCase()).join(':');
    assert.notEqual(longhand, v6);
    const rows = report(synth.store, 'host-flows', ['--host', longhand, ...BIG]);
    assert.ok(rows.length > 0);
    assert.deepEqual(rows, refHostFlows(synth.flows, v6, {}));
  });

  it('partial updates count once, in their final state', () => {
    // Several flows of this capture have partial records; the store holds all of them.
    const stored = jsonLines(
      ok([
        'query',
        'SELECT count(*) AS n, count(DISTINCT flow_uid) AS f FROM flows',
        '--db',
        partials.store,
        '--format',
        'json',
      ]),
    )[0]!;
    assert.ok((stored.n as number) > (stored.f as number));
    assert.equal(stored.f, partials.flows.length);
  });

  it('a capture run twice into one file counts each flow and alert once', () => {
    const once = report(synth.store, 'top-talkers', BIG);
    assert.deepEqual(report(rerunSynth, 'top-talkers', BIG), once);
    assert.deepEqual(report(rerunSynth, 'top-ports', BIG), report(synth.store, 'top-ports', BIG));
    const host = busiest(synth.flows);
    assert.deepEqual(
      report(rerunSynth, 'host-flows', ['--host', host, ...BIG]),
      report(synth.store, 'host-flows', ['--host', host, ...BIG]),
    );
    assert.deepEqual(report(rerunAlerts, 'alerts', BIG), report(alerts.store, 'alerts', BIG));
  });
});

describe('pcapstream report: traffic and alerts against decoded packets', () => {
  it('traffic per step equals packets, bytes and new flows by packet time', () => {
    for (const c of [synth, partials, alerts]) {
      for (const step of [1, 10, 60]) {
        const rows = report(
          c.store,
          'traffic',
          ['--step', String(step)],
          ['start_us', 'packets', 'bytes', 'new_flows'],
        );
        assert.deepEqual(rows, refTraffic(c.packets, c.flows, step, {}), `step ${step}`);
        assert.equal(
          rows.reduce((s, r) => s + (r[1] as number), 0),
          c.packets.length,
        );
      }
    }
    assert.ok(report(alerts.store, 'traffic', ['--step', '1']).length > 30);
  });

  it('traffic in a window cutting the capture on a second boundary', () => {
    const first = alerts.packets[0]!.tsUs;
    const from = first - (first % 1_000_000) + 10_000_000;
    const w = { from, to: from + 17_000_000 };
    const args = ['--step', '5', '--from', String(w.from / 1e6), '--to', new Date(w.to / 1000).toISOString()];
    const rows = report(alerts.store, 'traffic', args);
    assert.deepEqual(rows, refTraffic(alerts.packets, alerts.flows, 5, w));
    assert.ok(rows.length >= 3);
    // Rows are labelled with their epoch-aligned step, even where the window starts mid-step.
    for (const r of rows) assert.equal((r[0] as number) % 5_000_000, 0);
  });

  it('alerts are the decoded anomalies, one row per packet and code', () => {
    const all = refAlerts(alerts.packets, {});
    assert.ok(all.length > 300);
    const rows = report(alerts.store, 'alerts', BIG, [
      'ts_us',
      'frame_number',
      'code',
      'src_ip',
      'dest_ip',
      'protocol',
    ]);
    assert.deepEqual(rows, all);
    assert.deepEqual(report(alerts.store, 'alerts'), all.slice(0, 20));
    const edge = all[150]![0] as number;
    const w = { from: edge, to: all[250]![0] as number };
    const cutRows = report(alerts.store, 'alerts', [
      '--from',
      String(w.from / 1e6),
      '--to',
      String(w.to / 1e6),
      ...BIG,
    ]);
    assert.deepEqual(cutRows, refAlerts(alerts.packets, w));
    assert.equal(cutRows[0]![0], edge);
    assert.ok(!cutRows.some((r) => r[0] === w.to));
    assert.deepEqual(report(synth.store, 'alerts'), []);
  });
});

describe('pcapstream report: output and errors', () => {
  it('prints a table with a row count, CSV and JSON lines with the same rows', () => {
    const table = ok(['report', 'top-ports', '--store', synth.store, '--limit', '3']).split('\n');
    assert.match(table[0]!, /^protocol_name\s+port\s+flows\s+packets\s+bytes$/);
    assert.match(table[1]!, /^-+( {2}-+){4}$/);
    assert.equal(table[5], '(3 rows)');
    const rows = report(synth.store, 'top-ports', ['--limit', '3']);
    assert.deepEqual(
      table.slice(2, 5).map((l) => l.trim().split(/\s+/)),
      rows.map((r) => r.map(String)),
    );
    const csv = ok(['report', 'top-ports', '--store', synth.store, '--limit', '3', '--format', 'csv']);
    assert.equal(
      csv,
      ['protocol_name,port,flows,packets,bytes', ...rows.map((r) => r.join(','))].join('\r\n') + '\r\n',
    );
    const empty = ok(['report', 'alerts', '--store', synth.store]);
    assert.match(empty, /\(0 rows\)\n$/);
  });

  it('host-flows keeps booleans and numbers as JSON types', () => {
    const o = jsonLines(
      ok(['report', 'host-flows', '--store', partials.store, '--host', busiest(partials.flows), '--format', 'json']),
    )[0]!;
    assert.equal(typeof o.partial, 'boolean');
    assert.equal(typeof o.first_seen_us, 'number');
    assert.equal(typeof o.flow_uid, 'string');
  });

  it('without a name lists every report with its columns', () => {
    const text = ok(['report']);
    for (const name of ['top-talkers', 'top-ports', 'host-flows', 'traffic', 'alerts'])
      assert.match(text, new RegExp(`\\n {2}${name}`));
    assert.match(text, /host-flows \(needs --host\)/);
    assert.match(text, /columns: host, flows, packets, bytes/);
    const json = jsonLines(ok(['report', '--format', 'json']));
    assert.deepEqual(
      json.map((o) => o.report),
      ['top-talkers', 'top-ports', 'host-flows', 'traffic', 'alerts'],
    );
    assert.equal(json[2]!.needs, '--host');
    assert.match(ok(['report', '--help']), /--step <seconds>/);
  });

  it('reads pcapstream.duckdb in the current directory by default', () => {
    fs.copyFileSync(alerts.store, path.join(tmp, 'pcapstream.duckdb'));
    try {
      assert.deepEqual(
        report('pcapstream.duckdb', 'alerts', ['--limit', '2']),
        refAlerts(alerts.packets, {}).slice(0, 2),
      );
      assert.match(ok(['report', 'alerts', '--limit', '2']), /\(2 rows\)/);
    } finally {
      fs.rmSync(path.join(tmp, 'pcapstream.duckdb'));
    }
  });

  it('usage errors are one line with exit code 2, found before the store is opened', () => {
    const missing = path.join(tmp, 'missing.duckdb');
    const cases: [string[], RegExp][] = [
      [
        ['report', 'talkers'],
        /^pcapstream: no report 'talkers'; reports: top-talkers, top-ports, host-flows, traffic, alerts\n$/,
      ],
      [['report', 'host-flows'], /^pcapstream: report host-flows needs --host\n$/],
      [
        ['report', 'host-flows', '--host', 'gateway'],
        /^pcapstream: --host must be an IPv4 or IPv6 address, got 'gateway'\n$/,
      ],
      [['report', 'alerts', '--from', 'monday'], /^pcapstream: --from must be an ISO 8601 time .* got 'monday'\n$/],
      [
        ['report', 'alerts', '--from', '2024-05-01', '--to', '2024-04-30'],
        /^pcapstream: --to must be later than --from\n$/,
      ],
      [['report', 'alerts', '--limit', '0'], /^pcapstream: --limit must be a whole number from 1 to 1000000\n$/],
      [['report', 'alerts', '--limit', 'ten'], /^pcapstream: --limit must be a whole number/],
      [['report', 'traffic', '--step', '0.5'], /^pcapstream: --step must be a whole number of seconds/],
      [['report', 'top-talkers', '--host', '10.0.0.1'], /^pcapstream: --host applies to host-flows only/],
    ];
    for (const [args, re] of cases) {
      const r = cli([...args, '--store', missing]);
      assert.equal(r.code, EXIT_USAGE, args.join(' '));
      assert.match(r.err, re, args.join(' '));
      assert.equal(r.out, '');
    }
    const scheme = cli(['report', 'alerts', '--store', 'redis://127.0.0.1/0']);
    assert.equal(scheme.code, EXIT_USAGE);
    assert.match(scheme.err, /unknown store 'redis:\/\/'/);
    const format = cli(['report', 'alerts', '--format', 'xml']);
    assert.equal(format.code, EXIT_USAGE);
    assert.match(format.err, /--format/);
  });

  it('a store that cannot be opened: exit code 5 and what to do', async () => {
    const r = cli(['report', 'alerts', '--store', path.join(tmp, 'missing.duckdb')]);
    assert.equal(r.code, EXIT_OUTPUT);
    assert.match(
      r.err,
      /^pcapstream: no store at .*missing\.duckdb \(pcapstream run creates one; --store names another file\)\n$/,
    );
    // A cassandra:// store goes to the Cassandra reports: nothing listens on port 1.
    const cass = cli(['report', 'alerts', '--store', 'cassandra://127.0.0.1:1/pcapstream']);
    assert.equal(cass.code, EXIT_OUTPUT);
    assert.match(cass.err, /^pcapstream: .*Cassandra.*\n$/);
    const held = path.join(tmp, 'held.duckdb');
    const holder = await holdStore(held);
    try {
      const h = cli(['report', 'alerts', '--store', held]);
      assert.equal(h.code, EXIT_OUTPUT);
      assert.match(h.err, /in use by another process \(PID \d+\), probably a running pcapstream run/);
    } finally {
      holder.kill();
    }
  });
});
