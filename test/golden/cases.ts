/**
 * Golden cases: a capture and the exact records `pcapstream decode` must print for it.
 * Each case is a folder `test/golden/<case>/` holding `expected.ndjson` (generated, do not edit:
 * `npm run golden:update`) and a `NOTE.md`; captures are read from the shared corpus or made by
 * `synth` with a fixed seed, so none is stored here. Sources are listed in README.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PacketContext } from '../../src/core/packet.ts';
import { decodeFrame } from '../../src/decode/dispatch.ts';
import { buildFields } from '../../src/decode/fields.ts';
import { jsonlFormatter } from '../../src/sinks/record-format.ts';
import { readCapture } from '../../src/sources/capture.ts';
import { synthesize } from '../../src/synth/index.ts';
import { CORPUS } from '../helpers/corpus.ts';

export const GOLDEN_DIR = fileURLToPath(new URL('.', import.meta.url));
export const HEADER = '# generated, do not edit: regenerate with `npm run golden:update`';

export interface GoldenCase {
  name: string;
  /** A corpus file name, or `synth:<packets>:<seed>` for a generated capture. */
  capture: string;
  note: string;
}

export const CASES: GoldenCase[] = [
  { name: 'http-session', capture: 'dpkt__http.pcap', note: 'TCP handshake, HTTP request/response, DNS lookup' },
  { name: 'arp', capture: 'zeek__arp_who_has.pcap', note: 'ARP request and reply' },
  { name: 'icmpv6-nd', capture: 'tcpdump__icmpv6_mix.pcap', note: 'ICMPv6 MLD, router and neighbour discovery' },
  { name: 'dns-records', capture: 'ppp__dns_mx.pcap', note: 'DNS response with MX, NS, A, AAAA answers' },
  {
    name: 'dns-pointer-loop',
    capture: 'tcpdump__dns_compression_loop.pcap',
    note: 'self-referencing DNS compression pointer',
  },
  { name: 'vxlan', capture: 'zeek__vxlan.pcap', note: 'VXLAN tunnel: innermost packet in the main fields' },
  { name: 'qinq', capture: 'zeek__vlan_qinqinq.pcap', note: 'three stacked VLAN tags' },
  { name: 'ipv4-truncated', capture: 'zeek__trunc_ip4.pcap', note: 'IPv4 total length beyond the captured bytes' },
  {
    name: 'pcapng-multi-section',
    capture: 'pcapngtest__le_test202_multi_section.pcapng',
    note: 'three pcapng sections, several interfaces',
  },
  { name: 'sll2', capture: 'zeek__sll2_arp_icmp_icmpv6.pcap', note: 'Linux cooked capture v2 with ARP, ICMP, ICMPv6' },
  { name: 'synth-small', capture: 'synth:300:11', note: 'pcapstream synth --packets 300 --seed 11' },
];

/** Path of the case's capture, generating synthetic ones into a temp folder. */
export async function capturePath(c: GoldenCase): Promise<string> {
  if (!c.capture.startsWith('synth:')) return path.join(CORPUS, c.capture);
  const [, packets, seed] = c.capture.split(':');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcapstream-golden-'));
  const out = path.join(dir, `${c.name}.pcap`);
  await synthesize({ out, packets: Number(packets), seed: Number(seed), format: 'pcap' });
  return out;
}

/** The records `decode` prints for the case, one JSON line each. */
export async function render(c: GoldenCase): Promise<string[]> {
  const file = await capturePath(c);
  const fmt = jsonlFormatter(buildFields());
  const p = new PacketContext();
  const lines: string[] = [];
  const r = await readCapture(file, (f) => {
    p.frameNumber = lines.length + 1;
    decodeFrame(p, f);
    lines.push(fmt(p));
  });
  if (r.truncated) lines.push(`# truncated: ${r.truncated.message.replace(file, c.capture)}`);
  return lines;
}

export function expectedPath(c: GoldenCase): string {
  return path.join(GOLDEN_DIR, c.name, 'expected.ndjson');
}
