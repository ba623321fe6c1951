/**
 * `synthesize()`: write a realistic, deterministic capture of mixed enterprise traffic and its
 * ground truth. Behind `pcapstream synth`, the README's demos and the pipeline benchmark.
 *
 * Same options, same bytes: the output depends only on the options (the seed above all), never
 * on the clock or the machine. A capture of N packets is the first N packets of any longer one
 * made with the same seed and rate. Memory stays constant whatever the size.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { PipelineError } from '../core/errors.ts';
import { PcapWriter } from '../sources/pcap/pcap-writer.ts';
import { PcapngWriter } from '../sources/pcapng/pcapng-writer.ts';
import { Catalog } from './catalog.ts';
import { Generator } from './generator.ts';
import { seedToU32 } from './rng.ts';
import type { FlowEntry, Truth } from './truth.ts';
import { DEFAULT_FLOW_LIST_LIMIT, FLOW_COLUMNS, FLOW_KEY_DOC, FlowLog } from './truth.ts';

export type { FlowEntry, Truth } from './truth.ts';
export { formatIPv4, formatIPv6 } from './truth.ts';

/** Packets written when neither `packets` nor `bytes` is given. */
export const DEFAULT_SYNTH_PACKETS = 10_000;
/** Default capture start: 2025-01-01T00:00:00Z. */
export const DEFAULT_SYNTH_START = 1735689600;
/** Default mean number of new sessions per second of capture time (about 40k packets/s). */
export const DEFAULT_SESSION_RATE = 2500;
/** Size of the output buffer, and of each write to the file. */
const OUTPUT_CHUNK = 4 * 1024 * 1024;

/** Options of `synthesize()`. Plain data: they can be passed to a worker unchanged. */
export interface SynthOptions {
  /** Capture file to write (created or truncated). */
  out: string;
  /** Stop after this many packets. Default 10,000 unless `bytes` is given. */
  packets?: number;
  /**
   * Stop once the file has reached this many bytes (it ends with the packet that crosses the
   * mark). With `packets` too, whichever limit comes first.
   */
  bytes?: number;
  /** Seed; a string of digits means the same as the number. Default 1. */
  seed?: number | string;
  /** Container format. Default: 'pcapng' when `out` ends in .pcapng, otherwise 'pcap'. */
  format?: 'pcap' | 'pcapng';
  /** Timestamp of the capture start, seconds since the epoch. Default 1735689600 (2025-01-01). */
  start?: number;
  /** Mean new sessions per second of capture time. Default 2500. */
  sessionRate?: number;
  /** Where the ground truth goes. Default `<out>.truth.json`. */
  truthOut?: string;
  /** Most flows listed one by one in the truth file; more than that and only totals are written. Default 200,000. */
  flowListLimit?: number;
}

/**
 * Generate a capture and its ground truth (`<out>.truth.json`), resolving to the truth.
 *
 * Traffic: clients on four subnets (two 802.1Q-tagged, two dual-stack) talk through a router
 * to an internal resolver and Internet servers: TCP sessions with handshake (MSS, SACK
 * permitted, timestamps, window scale on SYN), HTTP/1.1 and TLS 1.3 exchanges, bulk transfers,
 * delayed ACKs, FIN or RST teardown, refused connections; DNS over UDP (A, AAAA, CNAME chains,
 * NXDOMAIN and NODATA with SOA); ICMP and ICMPv6 echo; ARP. Timestamps increase strictly, with
 * microsecond resolution; IPv4, TCP, UDP, ICMP and ICMPv6 checksums are valid.
 *
 * Errors: bad options throw `PipelineError('PCS_CONFIG')`; a file that cannot be written,
 * `PipelineError('PCS_SINK_WRITE')`.
 *
 * @example
 * import { synthesize } from './synth/index.ts';
 * const truth = await synthesize({ out: 'demo.pcap', packets: 100_000, seed: 7 });
 * console.log(truth.packets, truth.flows.total, truth.protocols.dns);
 *
 * @example
 * // About 1 GB of pcapng for a benchmark.
 * await synthesize({ out: 'big.pcapng', bytes: 1e9, seed: 'bench' });
 */
export async function synthesize(options: SynthOptions): Promise<Truth> {
  const o = checkOptions(options);
  const seed = seedToU32(o.seed);
  const stream = createWriteStream(o.out, { highWaterMark: OUTPUT_CHUNK + 1 });
  try {
    await once(stream, 'open');
  } catch (err) {
    throw new PipelineError('PCS_SINK_WRITE', `cannot write ${o.out}: ${(err as Error).message}`, { cause: err });
  }
  const writer =
    o.format === 'pcapng'
      ? new PcapngWriter(stream, { bufferSize: OUTPUT_CHUNK })
      : new PcapWriter(stream, { bufferSize: OUTPUT_CHUNK });
  const flows = new FlowLog(o.flowListLimit);
  const gen = new Generator(new Catalog(seed), seed, writer, { start: o.start, sessionRate: o.sessionRate }, flows);
  const maxPackets = o.packets ?? Number.POSITIVE_INFINITY;
  const maxBytes = o.bytes ?? Number.POSITIVE_INFINITY;
  try {
    while (!gen.run(maxPackets, maxBytes)) await writer.drain();
  } catch (err) {
    stream.destroy();
    throw err;
  }
  gen.end();
  await writer.close();

  const c = gen.counters;
  const truth: Truth = {
    generator: 'pcapstream synth',
    version: 1,
    options: {
      packets: o.packets ?? null,
      bytes: o.bytes ?? null,
      seed: o.seed,
      format: o.format,
      start: o.start,
      sessionRate: o.sessionRate,
    },
    file: basename(o.out),
    fileBytes: writer.size,
    packets: c.packets,
    bytes: c.bytes,
    minFrameBytes: c.minFrame,
    maxFrameBytes: c.maxFrame,
    avgFrameBytes: c.packets === 0 ? 0 : Math.round((c.bytes / c.packets) * 100) / 100,
    firstTimestampUs: c.packets === 0 ? 0 : o.start * 1e6 + c.firstUs,
    lastTimestampUs: c.packets === 0 ? 0 : o.start * 1e6 + c.lastUs,
    durationSec: c.packets === 0 ? 0 : (c.lastUs - c.firstUs) / 1e6,
    protocols: {
      eth: c.packets,
      vlan: c.vlan,
      arp: c.arp,
      ipv4: c.ipv4,
      ipv6: c.ipv6,
      icmp: c.icmp,
      icmpv6: c.icmpv6,
      tcp: c.tcp,
      udp: c.udp,
      dns: c.dns,
    },
    tcp: { syn: c.tcpSyn, synAck: c.tcpSynAck, fin: c.tcpFin, rst: c.tcpRst, payloadBytes: c.tcpPayloadBytes },
    dns: { queries: c.dnsQueries, responses: c.dnsResponses, nxdomain: c.dnsNxdomain },
    flows: {
      total: flows.total,
      tcp: flows.tcp,
      udp: flows.udp,
      icmp: flows.icmp,
      icmpv6: flows.icmpv6,
      ipv4: flows.ipv4,
      ipv6: flows.ipv6,
    },
    flowKey: FLOW_KEY_DOC,
    flowColumns: FLOW_COLUMNS,
    flowList: flows.total <= flows.limit ? flows.list() : null,
    flowListLimit: flows.limit,
    notes: [
      flows.total <= flows.limit
        ? 'flowList holds every flow'
        : `flowList omitted: ${flows.total} flows exceed flowListLimit (${flows.limit}); totals only`,
      'protocols.* count frames containing that layer; eth counts all frames; vlan counts 802.1Q-tagged frames',
      'every TCP flow starts with its handshake inside the capture; flows still open when the capture ends are ' +
        'counted with the packets written so far',
      'no TCP/UDP flow reuses a 5-tuple and no ping series reuses a (client, target) pair, so each session is one flow',
      'timestamps increase strictly (microsecond resolution); IPv4, TCP, UDP, ICMP and ICMPv6 checksums are valid; ' +
        'frames shorter than 60 bytes are zero-padded to 60',
    ],
  };
  try {
    await writeFile(o.truthOut, serializeTruth(truth));
  } catch (err) {
    throw new PipelineError('PCS_SINK_WRITE', `cannot write ${o.truthOut}: ${(err as Error).message}`, { cause: err });
  }
  return truth;
}

interface CheckedOptions {
  out: string;
  packets: number | undefined;
  bytes: number | undefined;
  seed: number | string;
  format: 'pcap' | 'pcapng';
  start: number;
  sessionRate: number;
  truthOut: string;
  flowListLimit: number;
}

function checkOptions(options: SynthOptions): CheckedOptions {
  const bad = (msg: string): never => {
    throw new PipelineError('PCS_CONFIG', `synth: ${msg}`);
  };
  if (typeof options.out !== 'string' || options.out === '') bad('an output file is required');
  const positive = (name: string, v: number | undefined): number | undefined => {
    if (v === undefined) return undefined;
    if (!Number.isSafeInteger(v) || v < 1) bad(`${name} must be a positive integer, got ${v}`);
    return v;
  };
  let packets = positive('packets', options.packets);
  const bytes = positive('bytes', options.bytes);
  if (packets === undefined && bytes === undefined) packets = DEFAULT_SYNTH_PACKETS;
  const format = options.format ?? (options.out.toLowerCase().endsWith('.pcapng') ? 'pcapng' : 'pcap');
  if (format !== 'pcap' && format !== 'pcapng') bad(`format must be pcap or pcapng, got ${String(format)}`);
  const seed = options.seed ?? 1;
  if (typeof seed === 'number' && !Number.isSafeInteger(seed)) bad(`seed must be an integer or a string, got ${seed}`);
  const start = options.start ?? DEFAULT_SYNTH_START;
  if (!Number.isSafeInteger(start) || start < 0 || start > 0xffffffff - 1e6)
    bad(`start must be whole seconds since the epoch, got ${start}`);
  const sessionRate = options.sessionRate ?? DEFAULT_SESSION_RATE;
  if (!(sessionRate > 0 && sessionRate <= 1e6)) bad(`sessionRate must be in (0, 1e6], got ${sessionRate}`);
  const flowListLimit = options.flowListLimit ?? DEFAULT_FLOW_LIST_LIMIT;
  if (!Number.isSafeInteger(flowListLimit) || flowListLimit < 0) bad('flowListLimit must be a non-negative integer');
  return {
    out: options.out,
    packets,
    bytes,
    seed: typeof seed === 'string' && /^\d+$/.test(seed) ? Number(seed) : seed,
    format,
    start,
    sessionRate,
    truthOut: options.truthOut ?? `${options.out}.truth.json`,
    flowListLimit,
  };
}

/** Pretty JSON with one line per flow, so large flow lists stay readable and compact. */
function serializeTruth(t: Truth): string {
  const list = t.flowList;
  const head = JSON.stringify({ ...t, flowList: list === null ? null : '\u0000FLOWS\u0000' }, null, 2);
  if (list === null) return `${head}\n`;
  const rows = list.map((f: FlowEntry) => `    ${JSON.stringify(f)}`).join(',\n');
  const body = list.length === 0 ? '[]' : `[\n${rows}\n  ]`;
  return `${head.replace('"\\u0000FLOWS\\u0000"', () => body)}\n`;
}
