/**
 * The independent oracle: tshark decodes the same corpus files and pcapstream's fields must
 * agree with its fields packet by packet.
 *
 * `compareCorpus()` runs both over every corpus file and returns, per compared field, how many
 * packets carried it and every disagreement. The test asserts agreement and checks each
 * disagreement against the allow-list; `report.ts` prints them for investigation.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PacketContext } from '../../src/core/packet.ts';
import { decodeFrame } from '../../src/decode/dispatch.ts';
import type { FieldValue } from '../../src/decode/fields.ts';
import { buildFields } from '../../src/decode/fields.ts';
import { readCapture } from '../../src/sources/capture.ts';

const run = promisify(execFile);

/** The shared corpus sits beside the repository (`../shared/corpus`). */
export const CORPUS_DIR = fileURLToPath(new URL('../../../shared/corpus/', import.meta.url));

export interface ManifestEntry {
  file: string;
  format: string;
  linktypes: string;
  packets: string;
  note: string;
}

export function readManifest(): ManifestEntry[] {
  const text = fs.readFileSync(path.join(CORPUS_DIR, 'MANIFEST.tsv'), 'utf8');
  return text
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const c = l.split('\t');
      return { file: c[0]!, format: c[4]!, linktypes: c[5]!, packets: c[6]!, note: c[7] ?? '' };
    });
}

const TSHARK_FIELDS = [
  'frame.number',
  'frame.time_epoch',
  'frame.len',
  'frame.cap_len',
  'frame.protocols',
  'ip.src',
  'ip.dst',
  'ip.proto',
  'ip.ttl',
  'ipv6.src',
  'ipv6.dst',
  'ipv6.nxt',
  'ipv6.hlim',
  'ipv6.hopopts.nxt',
  'ipv6.routing.nxt',
  'ipv6.fraghdr.nxt',
  'ipv6.dstopts.nxt',
  'ah.next_header',
  'tcp.srcport',
  'tcp.dstport',
  'udp.srcport',
  'udp.dstport',
  'tcp.flags',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.window_size_value',
  'udp.length',
  'icmp.type',
  'icmp.code',
  'icmpv6.type',
  'icmpv6.code',
  'dns.qry.name',
  'arp.src.proto_ipv4',
  'arp.dst.proto_ipv4',
  'arp.src.hw_mac',
  'arp.dst.hw_mac',
  'vlan.id',
  'frame.cb_pen',
  'ieee8021ad.id',
  'arp.src.hw',
  'arp.dst.hw',
  'arp.src.proto',
  'arp.dst.proto',
] as const;
type TField = (typeof TSHARK_FIELDS)[number];
type TRow = Record<TField, string[]>;

/**
 * Options that make tshark show each packet as captured: no reassembly (so a fragment or a
 * segment shows its own headers, as pcapstream decodes them) and no checksum-driven changes.
 */
const TSHARK_PREFS = [
  'ip.defragment:FALSE',
  'ipv6.defragment:FALSE',
  'tcp.desegment_tcp_streams:FALSE',
  'tcp.analyze_sequence_numbers:FALSE',
  'dns.desegment_dns_messages:FALSE',
];

export interface TsharkResult {
  rows: TRow[];
  ok: boolean;
  stderr: string;
}

export async function runTshark(file: string): Promise<TsharkResult> {
  const args = ['-r', file, '-n', '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=|'];
  for (const pref of TSHARK_PREFS) args.push('-o', pref);
  for (const f of TSHARK_FIELDS) args.push('-e', f);
  let stdout = '';
  let stderr = '';
  let ok = true;
  try {
    // tshark writes UTF-8 (invalid bytes in names already replaced by U+FFFD).
    const r = await run('tshark', args, { maxBuffer: 1 << 30, encoding: 'utf8' });
    stdout = r.stdout;
    stderr = r.stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    stdout = e.stdout ?? '';
    stderr = e.stderr ?? '';
    ok = false;
  }
  const rows: TRow[] = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const cols = line.split('\t');
    const row = {} as TRow;
    TSHARK_FIELDS.forEach((f, i) => {
      const v = cols[i] ?? '';
      row[f] = v === '' ? [] : v.split('|');
    });
    // tshark shows a pcapng Custom Block as a frame of its own; it holds no packet, and capinfos
    // and pcapstream do not count it, so it must not shift the packet-by-packet pairing.
    if (row['frame.cb_pen'].length > 0) continue;
    rows.push(row);
  }
  return {
    rows,
    ok: ok && !/appears to have been cut short|isn't a capture file|unknown file format/i.test(stderr),
    stderr,
  };
}

/** Field names of ours that the comparison reads. */
const OUR_FIELDS = [
  'timestamp',
  'frame_length',
  'captured_length',
  'src_ip',
  'dst_ip',
  'protocol',
  'ip_time_to_live',
  'src_port',
  'dest_port',
  'tcp_flags',
  'tcp_sequence_number',
  'tcp_acknowledgment_number',
  'tcp_window_size',
  'udp_segment_total_length',
  'icmp_type',
  'icmp_code',
  'dns_query_name',
  'arp_sender_ip',
  'arp_target_ip',
  'arp_sender_mac',
  'arp_target_mac',
  'vlan_ids',
  'ip_version',
] as const;
type OurField = (typeof OUR_FIELDS)[number];
export type OurRow = Partial<Record<OurField, FieldValue>> & { anomalies?: FieldValue };

export interface OurResult {
  rows: OurRow[];
  error: string;
}

export async function decodeOurs(file: string): Promise<OurResult> {
  const defs = buildFields();
  const getters = OUR_FIELDS.map((n) => {
    const d = defs.find((f) => f.name === n);
    if (!d) throw new Error(`no field ${n}`);
    return d;
  });
  const anomalies = defs.find((f) => f.name === 'anomalies')!;
  const p = new PacketContext();
  const rows: OurRow[] = [];
  let error = '';
  try {
    const r = await readCapture(file, (f) => {
      p.frameNumber = rows.length + 1;
      decodeFrame(p, f);
      const row: OurRow = {};
      for (const g of getters) {
        if (g.layers !== 0 && (p.layers & g.layers) === 0) continue;
        const v = g.get(p);
        if (v !== undefined) row[g.name as OurField] = v;
      }
      row.anomalies = anomalies.get(p);
      rows.push(row);
    });
    if (r.truncated) error = r.truncated.message;
  } catch (err) {
    error = (err as Error).message;
  }
  return { rows, error };
}

// ---------------------------------------------------------------------------------------------
// Field-by-field comparison

/** Where tshark's innermost network headers are, read off `frame.protocols`. */
interface Layout {
  /** Tokens up to the first ICMP message (whose quoted headers are not the packet's own). */
  tokens: string[];
  /** Every token of `frame.protocols`, quoted headers included. */
  all: string[];
  /** 'ip' or 'ipv6' for the innermost IP header, '' if none. */
  family: string;
  /** Index of the innermost header's value in the family's multi-valued fields. */
  ipIndex: number;
  tcpIndex: number;
  udpIndex: number;
}

function layout(row: TRow): Layout {
  const all = (row['frame.protocols'][0] ?? '').split(':');
  const stop = all.findIndex((t) => t === 'icmp' || t === 'icmpv6');
  const tokens = stop < 0 ? all : all.slice(0, stop + 1);
  let family = '';
  let v4 = 0;
  let v6 = 0;
  let tcp = 0;
  let udp = 0;
  // Transport headers count only when they follow the innermost IP header (an outer UDP of a
  // tunnel whose inner packet is ICMP is not the packet's transport).
  let tcpIndex = -1;
  let udpIndex = -1;
  for (const t of tokens) {
    if (t === 'ip' || t === 'ipv6') {
      if (t === 'ip') v4++;
      else v6++;
      family = t;
      tcpIndex = -1;
      udpIndex = -1;
    } else if (t === 'tcp') {
      if (tcpIndex < 0 && udpIndex < 0) tcpIndex = tcp;
      tcp++;
    } else if (t === 'udp') {
      if (tcpIndex < 0 && udpIndex < 0) udpIndex = udp;
      udp++;
    }
  }
  return { tokens, all, family, ipIndex: family === 'ip' ? v4 - 1 : v6 - 1, tcpIndex, udpIndex };
}

/** tshark's names of the dissectors that fill `dns.qry.name`. */
const DNS_TOKENS = new Set(['dns', 'mdns', 'llmnr']);

/**
 * The query name of the packet's own DNS message: a name that tshark read only inside an ICMP
 * error's quoted datagram belongs to another packet.
 */
function ownDnsName(t: TRow, l: Layout): string | undefined {
  return l.tokens.some((x) => DNS_TOKENS.has(x)) ? t['dns.qry.name'][0] : undefined;
}

/**
 * VLAN ids outermost first. tshark names an 802.1ad service tag `ieee8021ad.id` and an 802.1Q
 * tag `vlan.id`; `frame.protocols` gives their order.
 */
function vlanIds(t: TRow, l: Layout): string | undefined {
  const ids: string[] = [];
  let q = 0;
  let ad = 0;
  for (const x of l.all) {
    if (x === 'vlan') ids.push(t['vlan.id'][q++] ?? '?');
    else if (x === 'ieee8021ad') ids.push(t['ieee8021ad.id'][ad++] ?? '?');
  }
  return ids.length > 0 ? ids.join(',') : undefined;
}

/**
 * tshark fills `arp.src.hw_mac`/`arp.src.proto_ipv4` only for an Ethernet-type hardware address
 * of 6 bytes and an IPv4-type protocol address of 4; otherwise it gives the raw bytes as hex in
 * `arp.src.hw`/`arp.src.proto`. pcapstream formats an address by its length alone, so the raw
 * bytes are formatted the same way here and the comparison is of the bytes.
 */
function arpBytes(hex: string | undefined, hw: boolean): string | undefined {
  if (hex === undefined) return undefined;
  const h = hex.replace(/:/g, '');
  const bytes = h.match(/../g) ?? [];
  if (hw) return bytes.length === 6 ? bytes.join(':') : h;
  if (bytes.length === 4) return bytes.map((x) => Number.parseInt(x, 16)).join('.');
  if (bytes.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(bytes[i]! + bytes[i + 1]!);
    return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
  }
  return h;
}

const IPV6_EXT = new Set(['0', '43', '44', '50', '51', '60', '135', '139', '140']);

function at(values: string[], i: number): string | undefined {
  return i >= 0 && i < values.length ? values[i] : undefined;
}

/** A compared field: its name in reports, our value and tshark's value as strings. */
export interface Comparison {
  name: string;
  ours: (o: OurRow) => string | undefined;
  theirs: (t: TRow, l: Layout) => string | undefined;
}

const str = (v: FieldValue): string | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v.join(',') : String(v);
const hexToInt = (s: string | undefined): string | undefined =>
  s === undefined ? undefined : String(Number.parseInt(s, 16));

function microseconds(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  const [sec, frac = ''] = s.split('.');
  return `${sec}.${(frac + '000000').slice(0, 6)}`;
}

function ipv6FinalNext(t: TRow, i: number): string | undefined {
  const first = at(t['ipv6.nxt'], i);
  if (first === undefined || !IPV6_EXT.has(first)) return first;
  const chain = [
    ...t['ipv6.hopopts.nxt'],
    ...t['ipv6.routing.nxt'],
    ...t['ipv6.fraghdr.nxt'],
    ...t['ipv6.dstopts.nxt'],
    ...t['ah.next_header'],
  ];
  // A chain cut short ends on an extension header: that is the last protocol either side saw.
  return chain.find((v) => !IPV6_EXT.has(v)) ?? chain[chain.length - 1] ?? first;
}

export const COMPARISONS: Comparison[] = [
  {
    name: 'timestamp_us',
    ours: (o) => microseconds(str(o.timestamp)),
    theirs: (t) => microseconds(t['frame.time_epoch'][0]),
  },
  { name: 'frame_length', ours: (o) => str(o.frame_length), theirs: (t) => t['frame.len'][0] },
  { name: 'captured_length', ours: (o) => str(o.captured_length), theirs: (t) => t['frame.cap_len'][0] },
  {
    name: 'src_ip',
    ours: (o) => str(o.src_ip),
    theirs: (t, l) => (l.family === '' ? undefined : at(t[l.family === 'ip' ? 'ip.src' : 'ipv6.src'], l.ipIndex)),
  },
  {
    name: 'dst_ip',
    ours: (o) => str(o.dst_ip),
    theirs: (t, l) => (l.family === '' ? undefined : at(t[l.family === 'ip' ? 'ip.dst' : 'ipv6.dst'], l.ipIndex)),
  },
  {
    name: 'protocol',
    ours: (o) => str(o.protocol),
    theirs: (t, l) =>
      l.family === 'ip' ? at(t['ip.proto'], l.ipIndex) : l.family === 'ipv6' ? ipv6FinalNext(t, l.ipIndex) : undefined,
  },
  {
    name: 'ttl',
    ours: (o) => str(o.ip_time_to_live),
    theirs: (t, l) => (l.family === '' ? undefined : at(t[l.family === 'ip' ? 'ip.ttl' : 'ipv6.hlim'], l.ipIndex)),
  },
  {
    name: 'src_port',
    ours: (o) => str(o.src_port),
    theirs: (t, l) => at(t['tcp.srcport'], l.tcpIndex) ?? at(t['udp.srcport'], l.udpIndex),
  },
  {
    name: 'dest_port',
    ours: (o) => str(o.dest_port),
    theirs: (t, l) => at(t['tcp.dstport'], l.tcpIndex) ?? at(t['udp.dstport'], l.udpIndex),
  },
  {
    name: 'tcp_flags',
    ours: (o) => str(o.tcp_flags),
    theirs: (t, l) => {
      const v = hexToInt(at(t['tcp.flags'], l.tcpIndex));
      return v === undefined ? undefined : String(Number(v) & 0xff);
    },
  },
  { name: 'tcp_seq_raw', ours: (o) => str(o.tcp_sequence_number), theirs: (t, l) => at(t['tcp.seq_raw'], l.tcpIndex) },
  {
    name: 'tcp_ack_raw',
    ours: (o) => str(o.tcp_acknowledgment_number),
    theirs: (t, l) => at(t['tcp.ack_raw'], l.tcpIndex),
  },
  {
    name: 'tcp_window',
    ours: (o) => str(o.tcp_window_size),
    theirs: (t, l) => at(t['tcp.window_size_value'], l.tcpIndex),
  },
  {
    name: 'udp_length',
    ours: (o) => str(o.udp_segment_total_length),
    theirs: (t, l) => at(t['udp.length'], l.udpIndex),
  },
  { name: 'icmp_type', ours: (o) => str(o.icmp_type), theirs: (t) => t['icmp.type'][0] ?? t['icmpv6.type'][0] },
  { name: 'icmp_code', ours: (o) => str(o.icmp_code), theirs: (t) => t['icmp.code'][0] ?? t['icmpv6.code'][0] },
  { name: 'dns_query_name', ours: (o) => str(o.dns_query_name), theirs: ownDnsName },
  {
    name: 'arp_sender_ip',
    ours: (o) => str(o.arp_sender_ip),
    theirs: (t) => t['arp.src.proto_ipv4'][0] ?? arpBytes(t['arp.src.proto'][0], false),
  },
  {
    name: 'arp_target_ip',
    ours: (o) => str(o.arp_target_ip),
    theirs: (t) => t['arp.dst.proto_ipv4'][0] ?? arpBytes(t['arp.dst.proto'][0], false),
  },
  {
    name: 'arp_sender_mac',
    ours: (o) => str(o.arp_sender_mac),
    theirs: (t) => t['arp.src.hw_mac'][0] ?? arpBytes(t['arp.src.hw'][0], true),
  },
  {
    name: 'arp_target_mac',
    ours: (o) => str(o.arp_target_mac),
    theirs: (t) => t['arp.dst.hw_mac'][0] ?? arpBytes(t['arp.dst.hw'][0], true),
  },
  { name: 'vlan_ids', ours: (o) => str(o.vlan_ids), theirs: vlanIds },
];

export interface Difference {
  file: string;
  frame: number;
  field: string;
  ours: string | undefined;
  theirs: string | undefined;
}

export interface FieldTally {
  compared: number;
  agreed: number;
}

export interface CorpusComparison {
  tallies: Map<string, FieldTally>;
  differences: Difference[];
  /** Files where tshark read every packet, with both packet counts. */
  counts: { file: string; tshark: number; ours: number; tsharkOk: boolean; ourError: string }[];
}

/** Compare one file's packets field by field. */
export function compareRows(
  file: string,
  ours: OurRow[],
  theirs: TRow[],
  tallies: Map<string, FieldTally>,
  differences: Difference[],
): void {
  const n = Math.min(ours.length, theirs.length);
  for (let i = 0; i < n; i++) {
    const t = theirs[i]!;
    const o = ours[i]!;
    const l = layout(t);
    for (const c of COMPARISONS) {
      const a = c.ours(o);
      const b = c.theirs(t, l);
      if (a === undefined && b === undefined) continue;
      let tally = tallies.get(c.name);
      if (tally === undefined) tallies.set(c.name, (tally = { compared: 0, agreed: 0 }));
      tally.compared++;
      if (a === b) tally.agreed++;
      else differences.push({ file, frame: i + 1, field: c.name, ours: a, theirs: b });
    }
  }
}

/** Run pcapstream and tshark over every corpus file, two files at a time. */
export async function compareCorpus(files = readManifest().map((m) => m.file)): Promise<CorpusComparison> {
  const tallies = new Map<string, FieldTally>();
  const differences: Difference[] = [];
  const counts: CorpusComparison['counts'] = [];
  const queue = [...files];
  const worker = async (): Promise<void> => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const full = path.join(CORPUS_DIR, file);
      const [t, o] = await Promise.all([runTshark(full), decodeOurs(full)]);
      counts.push({ file, tshark: t.rows.length, ours: o.rows.length, tsharkOk: t.ok, ourError: o.error });
      compareRows(file, o.rows, t.rows, tallies, differences);
    }
  };
  await Promise.all([worker(), worker()]);
  counts.sort((a, b) => a.file.localeCompare(b.file));
  differences.sort((a, b) => a.file.localeCompare(b.file) || a.frame - b.frame || a.field.localeCompare(b.field));
  return { tallies, differences, counts };
}

// ---------------------------------------------------------------------------------------------
// Allow-list

export interface AllowEntry {
  file: string;
  /** Field name(s) from COMPARISONS, 'packet_count', or '*' for every field. */
  field: string | string[];
  /** Frame numbers, or omitted for every frame of the file. */
  frames?: number[];
  reason: string;
}

export const ALLOWLIST_PATH = fileURLToPath(new URL('./tshark-allowlist.json', import.meta.url));

export function readAllowList(): AllowEntry[] {
  return (JSON.parse(fs.readFileSync(ALLOWLIST_PATH, 'utf8')) as { entries: AllowEntry[] }).entries;
}

/** The fields an entry names. */
export function entryFields(e: AllowEntry): string[] {
  return Array.isArray(e.field) ? e.field : [e.field];
}

export function allowedBy(d: Difference, list: AllowEntry[]): AllowEntry | undefined {
  return list.find((e) => {
    const fields = entryFields(e);
    return (
      e.file === d.file &&
      (fields.includes('*') || fields.includes(d.field)) &&
      (e.frames === undefined || e.frames.includes(d.frame))
    );
  });
}

/**
 * The parts of allow-list entries that no difference needs: every field and every frame an
 * entry names must explain at least one difference, so entries stay as narrow as the facts.
 */
export function staleParts(differences: Difference[], list: AllowEntry[]): string[] {
  const usedFields = new Map<AllowEntry, Set<string>>();
  const usedFrames = new Map<AllowEntry, Set<number>>();
  for (const d of differences) {
    const e = allowedBy(d, list);
    if (e === undefined) continue;
    if (!usedFields.has(e)) {
      usedFields.set(e, new Set());
      usedFrames.set(e, new Set());
    }
    usedFields.get(e)!.add(d.field);
    usedFrames.get(e)!.add(d.frame);
  }
  const stale: string[] = [];
  for (const e of list) {
    if (entryFields(e).includes('packet_count')) continue;
    const fields = usedFields.get(e);
    if (fields === undefined) {
      stale.push(`${e.file} ${entryFields(e).join(',')}: unused`);
      continue;
    }
    for (const f of entryFields(e)) if (f !== '*' && !fields.has(f)) stale.push(`${e.file} ${f}: field unused`);
    for (const n of e.frames ?? []) if (!usedFrames.get(e)!.has(n)) stale.push(`${e.file} #${n}: frame unused`);
  }
  return stale;
}
