/**
 * Flow correctness against the synthetic generator's ground truth: the same flows, and per
 * direction the same packet and byte counts, under every preset.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FLOW_PRESETS } from '../../src/flow/flow-engine.ts';
import { synthesize } from '../../src/synth/index.ts';
import type { FlowEntry, Truth } from '../../src/synth/truth.ts';
import { conversations, orderedCounts, runFlows } from '../helpers/flows.ts';

let dir = '';
const captures: { file: string; truth: Truth }[] = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcapstream-flows-'));
  for (const [seed, format] of [
    [11, 'pcap'],
    [12, 'pcapng'],
  ] as const) {
    const file = path.join(dir, `s${seed}.${format}`);
    const truth = await synthesize({ out: file, packets: 40_000, seed, format });
    captures.push({ file, truth });
  }
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

function truthMap(list: FlowEntry[] | null): Map<string, number[]> {
  assert.ok(list !== null, 'the truth file lists every flow');
  const m = new Map<string, number[]>();
  for (const [proto, a, pa, b, pb, ab, abBytes, ba, baBytes] of list) {
    const [k, ...c] = orderedCounts(proto, [a, pa], [b, pb], [ab, abBytes], [ba, baBytes]);
    m.set(k, c);
  }
  return m;
}

describe('flows against the synth ground truth', () => {
  for (const preset of Object.keys(FLOW_PRESETS)) {
    it(`finds every flow with exact per-direction counts (preset ${preset})`, async () => {
      for (const { file, truth } of captures) {
        // CICFlowMeter ends a flow at its first FIN, so the packets after it form further
        // records; their sum per conversation must still be exact.
        const records = await runFlows(file, { preset, features: 'none' });
        const got = conversations(records);
        const want = truthMap(truth.flowList);
        assert.equal(got.size, want.size, `${path.basename(file)}: conversations`);
        for (const [k, counts] of want) {
          const g = got.get(k);
          assert.ok(g, `missing ${k}`);
          assert.deepEqual(g.slice(0, 4), counts, k);
          if (preset !== 'cic') assert.equal(g[4], 1, `${k} split into ${g[4]} records`);
        }
        if (preset !== 'cic') assert.equal(records.length, truth.flows.total);
      }
    });
  }

  it('names the initiator as the flow source', async () => {
    const { file, truth } = captures[0]!;
    const records = await runFlows(file, { features: 'none' });
    const initiator = new Map<string, string>();
    for (const [proto, a, pa, b, pb, , , , , who] of truth.flowList ?? []) {
      const [k] = orderedCounts(proto, [a, pa], [b, pb], [0, 0], [0, 0]);
      initiator.set(k, who === 'a' ? `${a}` : `${b}`);
    }
    let checked = 0;
    for (const r of records) {
      const icmp = r.protocol === 1 || r.protocol === 58;
      const [k] = orderedCounts(
        r.protocol_name,
        [r.src_ip, icmp ? 0 : r.src_port],
        [r.dest_ip, icmp ? 0 : r.dest_port],
        [0, 0],
        [0, 0],
      );
      assert.equal(r.src_ip, initiator.get(k), k);
      checked++;
    }
    assert.equal(checked, truth.flows.total);
  });
});
