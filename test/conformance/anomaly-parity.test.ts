/**
 * `stats` skips building DNS text (PacketContext.appDetail = false) but must still find every
 * anomaly `decode` finds: over the whole corpus, the two count the same codes, packet for packet.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { AnomalyCounters } from '../../src/core/anomalies.ts';
import { isPipelineError } from '../../src/core/errors.ts';
import { PacketContext } from '../../src/core/packet.ts';
import { decodeFrame } from '../../src/decode/dispatch.ts';
import { readCapture } from '../../src/sources/capture.ts';
import { CORPUS_DIR, readManifest } from './oracle.ts';

test('anomaly counts are the same with and without application detail', async () => {
  let total = 0;
  for (const m of readManifest()) {
    const full = new PacketContext();
    const lean = new PacketContext();
    lean.appDetail = false;
    const a = new AnomalyCounters();
    const b = new AnomalyCounters();
    let n = 0;
    try {
      await readCapture(path.join(CORPUS_DIR, m.file), (f) => {
        n++;
        decodeFrame(full, f);
        decodeFrame(lean, f);
        a.addPacket(full);
        b.addPacket(lean);
        assert.equal(lean.layers, full.layers, `${m.file} #${n}: layers`);
        assert.equal(lean.dnsRcode, full.dnsRcode, `${m.file} #${n}: rcode`);
      });
    } catch (err) {
      // Files pcapstream refuses are covered elsewhere; an assertion failure must still fail.
      if (!isPipelineError(err)) throw err;
    }
    assert.deepEqual(b.toObject(), a.toObject(), m.file);
    total += Object.values(a.toObject()).reduce((x, y) => x + y, 0);
  }
  assert.ok(total > 100, `only ${total} anomalies in the corpus`);
});
