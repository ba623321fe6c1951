/**
 * Test helpers: decode a corpus capture into records, and ask tshark for fields of the same file.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PacketContext } from '../../src/core/packet.ts';
import { decodeFrame } from '../../src/decode/dispatch.ts';
import { buildFields } from '../../src/decode/fields.ts';
import { jsonlFormatter } from '../../src/sinks/record-format.ts';
import { createParser, readCapture } from '../../src/sources/capture.ts';

export const CORPUS = fileURLToPath(new URL('../../../shared/corpus/', import.meta.url));

export function corpusPath(name: string): string {
  return path.join(CORPUS, name);
}

/** Every packet of a corpus file as the JSON record `decode` would print. */
export async function decodeRecords(name: string): Promise<Record<string, unknown>[]> {
  const fmt = jsonlFormatter(buildFields());
  const p = new PacketContext();
  const out: Record<string, unknown>[] = [];
  await readCapture(corpusPath(name), (f) => {
    p.frameNumber = out.length + 1;
    decodeFrame(p, f);
    out.push(JSON.parse(fmt(p)) as Record<string, unknown>);
  });
  return out;
}

/** tshark preferences that show each packet as captured: no IP or TCP reassembly. */
const NO_REASSEMBLY = ['ip.defragment:FALSE', 'ipv6.defragment:FALSE', 'tcp.desegment_tcp_streams:FALSE'];

/**
 * tshark's values of `fields` per packet, without reassembly: one string per field, the values
 * of a multi-valued field joined by `aggregator`.
 */
export function tsharkRows(name: string, fields: string[], aggregator = '\x1f'): string[][] {
  const args = ['-r', corpusPath(name), '-n', '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a'];
  args.push('-E', `aggregator=${aggregator}`);
  for (const pref of NO_REASSEMBLY) args.push('-o', pref);
  for (const f of fields) args.push('-e', f);
  const text = execFileSync('tshark', args, {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

/** tshark field values per packet (multi-valued fields joined by ','), without reassembly. */
export function tsharkFields(name: string, fields: string[]): string[][] {
  return tsharkRows(name, fields, ',');
}

/**
 * Decode every frame of a corpus capture (read whole, synchronously) and keep `view(p)` of each.
 * @example
 * const sni = mapFrames('ppp__tls13_v4_v6.pcap', (p) => p.tlsSni);
 */
export function mapFrames<T>(name: string, view: (p: PacketContext) => T): T[] {
  const out: T[] = [];
  const p = new PacketContext();
  const bytes = fs.readFileSync(corpusPath(name));
  const parser = createParser(bytes, (f) => {
    decodeFrame(p, f);
    out.push(view(p));
  });
  parser.push(bytes);
  parser.end();
  return out;
}
