/**
 * Resident memory per live flow: open N distinct TCP flows in one flow engine (CIC features
 * on, default cap) and divide the growth of the process RSS by N. The fixed base (hash index,
 * code, buffers) is measured before the first packet and left out.
 *
 *   node --expose-gc bench/flow-memory.ts [--flows 1000000] [--features corrected|cic|none]
 *
 * Prints one JSON line: { flows, features, base_mb, rss_mb, bytes_per_flow, engine_bytes_per_flow }.
 */

import { LAYER_IPV4, LAYER_TCP, layerBit } from '../src/core/layers.ts';
import { PacketContext } from '../src/core/packet.ts';
import { FlowEngine } from '../src/flow/flow-engine.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
};
const flows = Number(opt('flows', '1000000'));
const features = opt('features', 'corrected') as 'corrected' | 'cic' | 'none';
const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => undefined);

const engine = new FlowEngine({
  preset: 'zeek',
  timeouts: { idleTcpS: 0 },
  features,
  maxFlows: Math.max(flows, 1_000_000),
  onFlow: () => undefined,
});
const p = new PacketContext();
p.layers = layerBit(LAYER_IPV4) | layerBit(LAYER_TCP);
p.ipVersion = 4;
p.protocol = 6;
p.tcpFlags = 0x02;
p.tcpDataOffset = 10;
p.frameLength = 74;
p.tsSec = 1_700_000_000;
p.dst4 = 0x0a000001;
p.dstPort = 443;
gc();
const base = process.memoryUsage().rss;
for (let i = 0; i < flows; i++) {
  p.src4 = (0xac100000 + (i >>> 12)) >>> 0;
  p.srcPort = 1024 + (i & 0xfff);
  p.tsNanos = (i % 1_000_000) * 1000;
  engine.packet(p);
}
gc();
const rss = process.memoryUsage().rss;
if (engine.stats.flows_live !== flows) throw new Error(`expected ${flows} live flows, got ${engine.stats.flows_live}`);
process.stdout.write(
  `${JSON.stringify({
    flows,
    features,
    base_mb: Math.round(base / 2 ** 20),
    rss_mb: Math.round(rss / 2 ** 20),
    bytes_per_flow: Math.round((rss - base) / flows),
    engine_bytes_per_flow: engine.bytesPerFlow,
  })}\n`,
);
