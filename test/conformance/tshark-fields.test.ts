/**
 * Conformance against tshark over the whole shared corpus: packet counts and per-packet fields.
 * Regenerate the investigation report with `node test/conformance/report.ts`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { CorpusComparison } from './oracle.ts';
import {
  allowedBy,
  CORPUS_DIR,
  compareCorpus,
  entryFields,
  readAllowList,
  readManifest,
  staleParts,
} from './oracle.ts';

/** Required agreement per field over the corpus. */
const MIN_AGREEMENT = 0.999;

/** capinfos packet counts for every file it reads. */
function capinfosCounts(files: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of files) {
    try {
      const text = execFileSync('capinfos', ['-c', '-T', '-r', '-M', path.join(CORPUS_DIR, f)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const cols = text.trim().split('\t');
      out.set(f, Number(cols[cols.length - 1]));
    } catch {
      // capinfos rejects the file: no count to compare.
    }
  }
  return out;
}

describe('tshark conformance over the corpus', { timeout: 20 * 60_000 }, () => {
  let cmp: CorpusComparison;
  const manifest = readManifest();
  const allow = readAllowList();
  let capinfos: Map<string, number>;

  before(async () => {
    cmp = await compareCorpus(manifest.map((m) => m.file));
    capinfos = capinfosCounts(manifest.map((m) => m.file));
  });

  it('reads every corpus file without an internal error', () => {
    assert.equal(cmp.counts.length, manifest.length);
    for (const c of cmp.counts) assert.doesNotMatch(c.ourError, /internal|TypeError|RangeError/i, c.file);
  });

  it('counts the same packets as capinfos for every file tshark reads fully', () => {
    const mismatches: string[] = [];
    const used = new Set<unknown>();
    for (const c of cmp.counts) {
      const expected = capinfos.get(c.file);
      if (!c.tsharkOk || expected === undefined) continue;
      if (c.ours !== expected) {
        const d = { file: c.file, frame: 0, field: 'packet_count', ours: String(c.ours), theirs: String(expected) };
        const e = allowedBy(d, allow);
        if (e) used.add(e);
        else mismatches.push(`${c.file}: ours ${c.ours}, capinfos ${expected} (${c.ourError})`);
      }
    }
    assert.deepEqual(mismatches, []);
    const stale = allow.filter((e) => entryFields(e).includes('packet_count') && !used.has(e)).map((e) => e.file);
    assert.deepEqual(stale, [], 'packet_count entries whose counts now agree');
  });

  it(`agrees with tshark on every compared field in >= ${MIN_AGREEMENT * 100}% of packets`, () => {
    const low: string[] = [];
    for (const [field, t] of cmp.tallies) {
      const rate = t.agreed / t.compared;
      if (rate < MIN_AGREEMENT) low.push(`${field}: ${t.agreed}/${t.compared} = ${(rate * 100).toFixed(3)}%`);
    }
    assert.ok(cmp.tallies.size >= 20, `only ${cmp.tallies.size} fields compared`);
    assert.deepEqual(low, []);
  });

  it('lists every remaining difference in the allow-list, with a reason', () => {
    const unexplained = cmp.differences
      .filter((d) => !allowedBy(d, allow))
      .map((d) => `${d.file} #${d.frame} ${d.field}: ours=${d.ours} tshark=${d.theirs}`);
    assert.deepEqual(unexplained.slice(0, 50), [], `${unexplained.length} unexplained differences`);
  });

  it('keeps no stale allow-list entries, nor fields or frames an entry does not need', () => {
    assert.deepEqual(staleParts(cmp.differences, allow), []);
    for (const e of allow) assert.ok(e.reason.length > 10, `allow-list entry for ${e.file} needs a reason`);
  });
});
