/**
 * Run in a child process by test/flow/flow-snapshot.test.ts: feed the first K frames of a capture
 * to a flow engine, write its snapshot and the records it emitted (one `canonFlow` line each).
 *   node snapshot-child.ts CAPTURE K SETTINGS_JSON IMAGE_OUT RECORDS_OUT
 */
import fs from 'node:fs';
import { PacketContext } from '../../src/core/packet.ts';
import { decodeFrame } from '../../src/decode/dispatch.ts';
import { FlowEngine } from '../../src/flow/flow-engine.ts';
import { canonFlow, loadFrames } from './snapshot.ts';

const [capture, k, settings, imageOut, recordsOut] = process.argv.slice(2) as [string, string, string, string, string];
const lines: string[] = [];
const engine = new FlowEngine({ ...JSON.parse(settings), onFlow: (r) => lines.push(canonFlow(r)) });
const p = new PacketContext();
for (const f of (await loadFrames(capture)).slice(0, Number(k))) {
  decodeFrame(p, f);
  engine.packet(p);
}
fs.writeFileSync(imageOut, engine.snapshot());
fs.writeFileSync(recordsOut, lines.map((l) => `${l}\n`).join(''));
