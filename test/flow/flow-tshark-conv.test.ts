/**
 * Flow correctness against tshark: per conversation, the packets and bytes each way must equal
 * `tshark -q -z conv,tcp -z conv,udp` on corpus captures (IP reassembly off on both sides, so a
 * datagram's later fragments belong to no conversation in either tool).
 *
 * tshark prints small byte counts exactly ("948 bytes") and large ones rounded ("179 kB"); a
 * rounded figure must match ours rounded the same way.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { PacketContext } from '../../src/core/packet.ts';
import { decodeFrame } from '../../src/decode/dispatch.ts';
import { formatIPv4, formatIPv6 } from '../../src/decode/format.ts';
import { readCapture } from '../../src/sources/capture.ts';
import { CORPUS, corpusPath } from '../helpers/corpus.ts';
import { compareEndpoint, conversations, orderedCounts, runFlows } from '../helpers/flows.ts';

/** Corpus files our readers or tshark refuse (container tests), or that hold no packets. */
const SKIP =
  /linktype_reserved_field|kuznetzov|invalid_vers|invalid_version|shb_version2|shb_option_too_long|file_cut|empty|unsupported_linktype/;

/**
 * Known, explained differences: file -> reason. tshark also dissects the TCP/UDP header quoted
 * inside ICMP errors and counts it as a packet of that conversation; we count the ICMP packet in
 * its own ICMP flow.
 */
const KNOWN: Record<string, string> = {
  'ppp__ipv6_ext_headers.pcapng':
    'tshark puts the final destination of an IPv6 routing header in the conversation; we key on the header as sent',
  'ppp__tcp_malformed.pcap':
    'a TCP header tshark marks malformed is left out of its conversation table; we count the packet',
  'tcpdump__tcp_header_fuzzed.pcap': 'as above, for fuzzed TCP headers',
  'tcpdump__udp_length_fuzzed.pcap':
    'a UDP header cut after its ports: tshark leaves the packet out, we count it with the ports it has',
  'zeek__snaplen68_tcp_truncated_header.pcap':
    'a TCP header cut by the snaplen inside its options: tshark leaves the packet out, we count it with the ports it has',
};

/**
 * The outer UDP/TCP conversations of tunnels (VXLAN, Geneve, GTP-U, Teredo, L2TP): tshark lists
 * them, we do not make them flows (their inner flows carry `tunnel_type`).
 */
async function tunnelOuterKeys(file: string): Promise<Set<string>> {
  const keys = new Set<string>();
  const p = new PacketContext();
  await readCapture(file, (f) => {
    decodeFrame(p, f);
    const t = p.tunnel;
    if (p.tunnelDepth === 0 || (t.protocol !== 6 && t.protocol !== 17)) return;
    const fmt = (v4: number, v6: Uint32Array): string => (t.ipVersion === 4 ? formatIPv4(v4) : formatIPv6(v6));
    const [k] = orderedCounts(
      t.protocol === 6 ? 'tcp' : 'udp',
      [fmt(t.src4, t.src6), t.srcPort],
      [fmt(t.dst4, t.dst6), t.dstPort],
      [0, 0],
      [0, 0],
    );
    keys.add(k);
  });
  return keys;
}

interface Conv {
  packetsAB: number;
  bytesAB: string;
  packetsBA: number;
  bytesBA: string;
}

async function tsharkConversations(file: string): Promise<Map<string, Conv>> {
  const { stdout: text } = await execFileAsync(
    'tshark',
    [
      '-n',
      '-q',
      '-o',
      'ip.defragment:FALSE',
      '-o',
      'ipv6.defragment:FALSE',
      '-z',
      'conv,tcp',
      '-z',
      'conv,udp',
      '-r',
      file,
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  const m = new Map<string, Conv>();
  let proto = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('TCP Conversations')) proto = 'tcp';
    else if (line.startsWith('UDP Conversations')) proto = 'udp';
    const r = /^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+) (\d+ \w*B|\d+ bytes)\s+(\d+) (\d+ \w*B|\d+ bytes)\s/.exec(line);
    if (r === null) continue;
    // "<-" columns count B -> A, "->" columns A -> B.
    const [, a, pa, b, pb, fBA, bBA, fAB, bAB] = r;
    const [k] = orderedCounts(proto, [a!, Number(pa)], [b!, Number(pb)], [0, 0], [0, 0]);
    const swapped = compareEndpoint([a!, Number(pa)], [b!, Number(pb)]) > 0;
    const prev = m.get(k);
    const conv: Conv = swapped
      ? { packetsAB: Number(fBA), bytesAB: bBA!, packetsBA: Number(fAB), bytesBA: bAB! }
      : { packetsAB: Number(fAB), bytesAB: bAB!, packetsBA: Number(fBA), bytesBA: bBA! };
    if (prev !== undefined) {
      // The same 5-tuple in two TCP streams: add up (exact byte figures only).
      conv.packetsAB += prev.packetsAB;
      conv.packetsBA += prev.packetsBA;
      conv.bytesAB = addBytes(conv.bytesAB, prev.bytesAB);
      conv.bytesBA = addBytes(conv.bytesBA, prev.bytesBA);
    }
    m.set(k, conv);
  }
  return m;
}

function addBytes(x: string, y: string): string {
  if (x.endsWith(' bytes') && y.endsWith(' bytes')) return `${Number.parseInt(x, 10) + Number.parseInt(y, 10)} bytes`;
  return 'sum';
}

const execFileAsync = promisify(execFile);

const UNIT: Record<string, number> = { bytes: 1, kB: 1e3, MB: 1e6, GB: 1e9 };

/** Whether our exact byte count is what tshark printed. */
function bytesAgree(ours: number, shown: string): boolean {
  if (shown === 'sum') return true;
  const [v, unit] = shown.split(' ');
  const scale = UNIT[unit!];
  if (scale === undefined) return false;
  if (scale === 1) return ours === Number(v);
  return Math.abs(ours / scale - Number(v)) < 1;
}

const files = fs.existsSync(CORPUS)
  ? fs
      .readdirSync(CORPUS)
      .filter((f) => /\.(pcap|pcapng|cap)$/.test(f) && !SKIP.test(f))
      .sort()
  : [];

/** tshark's tables for every file, three tshark processes at a time (each is mostly start-up). */
const tables = new Map<string, Promise<Map<string, Conv>>>();
function tsharkTable(name: string): Promise<Map<string, Conv>> {
  if (tables.size === 0) {
    let next = 0;
    const resolvers = new Map<string, (v: Promise<Map<string, Conv>>) => void>();
    for (const f of files) tables.set(f, new Promise((res) => resolvers.set(f, res)));
    const worker = async (): Promise<void> => {
      while (next < files.length) {
        const f = files[next++]!;
        const p = tsharkConversations(corpusPath(f));
        resolvers.get(f)!(p);
        await p.catch(() => undefined);
      }
    };
    for (let i = 0; i < 3; i++) void worker();
  }
  return tables.get(name)!;
}

describe('flows against tshark conversation tables', () => {
  it('has corpus files to compare', () => {
    assert.ok(files.length > 50, `corpus at ${CORPUS}`);
  });
  let compared = 0;
  for (const name of files) {
    it(name, async () => {
      const want = await tsharkTable(name);
      const records = await runFlows(corpusPath(name), {
        features: 'none',
        timeouts: { idleTcpS: 0, idleUdpS: 0, idleOtherS: 0, activeS: 0 },
      });
      // A TCP/UDP packet whose transport header did not decode has no ports: it is a flow of
      // ours (nothing is dropped) but not a conversation of tshark's.
      const got = conversations(
        records.filter((r) => (r.protocol === 6 || r.protocol === 17) && (r.src_port !== 0 || r.dest_port !== 0)),
      );
      const outer = await tunnelOuterKeys(corpusPath(name));
      const problems: string[] = [];
      for (const [k, c] of want) {
        if (outer.has(k)) continue;
        const g = got.get(k);
        if (g === undefined) {
          problems.push(`missing ${k}`);
          continue;
        }
        if (g[0] !== c.packetsAB || g[2] !== c.packetsBA) {
          problems.push(`${k}: packets ${g[0]}/${g[2]}, tshark ${c.packetsAB}/${c.packetsBA}`);
        }
        if (!bytesAgree(g[1]!, c.bytesAB) || !bytesAgree(g[3]!, c.bytesBA)) {
          problems.push(`${k}: bytes ${g[1]}/${g[3]}, tshark ${c.bytesAB}/${c.bytesBA}`);
        }
      }
      for (const k of got.keys()) if (!want.has(k)) problems.push(`extra ${k}`);
      if (KNOWN[name] !== undefined) {
        assert.ok(problems.length > 0, `${name} is listed as differing but agrees: remove it from KNOWN`);
        return;
      }
      assert.deepEqual(problems, [], name);
      compared += want.size;
    });
  }
  it('compared conversations', () => {
    assert.ok(compared > 100, `only ${compared} conversations compared`);
  });
});
