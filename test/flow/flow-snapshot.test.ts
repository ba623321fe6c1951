/**
 * Flow engine snapshots across a split of the input: an engine fed the first k packets, then
 * snapshotted and restored into a fresh engine that gets the rest, must emit exactly the records
 * (every field, features and flow ids included) of one engine fed everything, on every corpus
 * capture and a synth capture with many long flows, under every preset and feature mode. Also:
 * flow uids are unique per capture and the same in another process.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PacketContext } from '../../src/core/packet.ts';
import type { Frame } from '../../src/core/source.ts';
import { decodeFrame } from '../../src/decode/dispatch.ts';
import { FlowEngine, type FlowEngineOptions } from '../../src/flow/flow-engine.ts';
import type { FlowRecord } from '../../src/flow/records.ts';
import { synthesize } from '../../src/synth/index.ts';
import { CORPUS, corpusPath } from '../helpers/corpus.ts';
import { canonFlow, loadFrames } from '../helpers/snapshot.ts';

type Settings = Omit<FlowEngineOptions, 'onFlow'>;

/**
 * One setting per preset, covering every feature mode and partial updates on and off. The cap
 * is far above any capture's live flows (no eviction, checked), and small: every engine
 * constructed pays for its cap's index up front.
 */
const MAX_FLOWS = 1 << 12;
const SETTINGS: readonly Settings[] = [
  { preset: 'nfstream', features: 'corrected', partialEveryS: 1, maxFlows: MAX_FLOWS },
  { preset: 'cic', features: 'cic', partialEveryS: 0, maxFlows: MAX_FLOWS },
  { preset: 'zeek', features: 'none', partialEveryS: 5, maxFlows: MAX_FLOWS },
  { preset: 'suricata', features: 'corrected', partialEveryS: 0, maxFlows: MAX_FLOWS },
];

interface Replay {
  whole: FlowRecord[];
  /** Records of each split run, canonical and sorted. */
  split: string[][];
  /** Live flows in each snapshot taken. */
  live: number[];
  bytes: number[];
}

/**
 * Feed `frames` to one engine, and to one engine per split point k that is snapshotted before
 * frame k (k = frames.length: after the last) and continued by a restored engine. Every
 * snapshot is also restored a second time and snapshotted again: the bytes must not change.
 */
function replay(frames: Frame[], settings: Settings, splits: number[]): Replay {
  const whole: FlowRecord[] = [];
  const outs = splits.map((): FlowRecord[] => []);
  const wholeEngine = new FlowEngine({ ...settings, onFlow: (r) => whole.push(r) });
  const engines = splits.map((_, j) => new FlowEngine({ ...settings, onFlow: (r) => outs[j]!.push(r) }));
  const live: number[] = [];
  const bytes: number[] = [];
  const handOff = (i: number): void => {
    splits.forEach((k, j) => {
      if (k !== i) return;
      const image = engines[j]!.snapshot();
      live.push(engines[j]!.stats.flows_live);
      bytes.push(image.length);
      const before = outs[j]!.length;
      const restored = FlowEngine.restore(image, { ...settings, onFlow: (r) => outs[j]!.push(r) });
      assert.equal(outs[j]!.length, before, 'restoring emits nothing');
      assert.deepEqual(restored.stats, engines[j]!.stats);
      const again = FlowEngine.restore(image, { ...settings, onFlow: () => assert.fail('emits') }).snapshot();
      assert.ok(Buffer.from(again).equals(Buffer.from(image)), 'a restored engine snapshots the same bytes');
      engines[j] = restored;
    });
  };
  const p = new PacketContext();
  for (let i = 0; i < frames.length; i++) {
    handOff(i);
    decodeFrame(p, frames[i]!);
    wholeEngine.packet(p);
    for (const e of engines) e.packet(p);
  }
  handOff(frames.length);
  wholeEngine.flushAll('end');
  for (const e of engines) e.flushAll('end');
  assert.equal(wholeEngine.stats.flows_evicted, 0, 'no flow was evicted');
  return { whole, split: outs.map((o) => o.map(canonFlow).sort()), live, bytes };
}

function assertExact(name: string, frames: Frame[], settings: Settings, splits: number[]): Replay {
  const r = replay(frames, settings, splits);
  const want = r.whole.map(canonFlow).sort();
  r.split.forEach((got, j) => {
    assert.equal(got.length, want.length, `${name} ${JSON.stringify(settings)} split at ${splits[j]}: record count`);
    assert.deepEqual(got, want, `${name} ${JSON.stringify(settings)} split at ${splits[j]}`);
  });
  return r;
}

/** Final records have distinct uids; partial updates repeat the uid of their flow's final record. */
function assertUids(name: string, records: FlowRecord[]): void {
  const byUid = new Map<string, number>();
  const idOf = new Map<number, string>();
  for (const r of records) {
    assert.match(r.flow_uid, /^[0-9a-f]{16}$/);
    const known = idOf.get(r.flow_id);
    if (known !== undefined) assert.equal(r.flow_uid, known, `${name}: flow ${r.flow_id} changed uid`);
    idOf.set(r.flow_id, r.flow_uid);
    if (r.partial) continue;
    const other = byUid.get(r.flow_uid);
    assert.equal(other, undefined, `${name}: flows ${other} and ${r.flow_id} share uid ${r.flow_uid}`);
    byUid.set(r.flow_uid, r.flow_id);
  }
}

let dir = '';
let synthFrames: Frame[] = [];
const corpus: { name: string; frames: Frame[] }[] = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcapstream-snapshot-'));
  // Few sessions a second over a long capture: many flows stay open across the splits.
  const file = path.join(dir, 'long.pcap');
  await synthesize({ out: file, packets: 20_000, seed: 21, sessionRate: 40 });
  synthFrames = await loadFrames(file);
  const names = fs
    .readdirSync(CORPUS)
    .filter((f) => f !== 'MANIFEST.tsv')
    .sort();
  for (const name of names) corpus.push({ name, frames: await loadFrames(corpusPath(name)) });
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('flow engine snapshots', () => {
  it('continue every corpus capture exactly, split at the start, the middle and the end', () => {
    assert.ok(corpus.length > 50);
    let live = 0;
    let records = 0;
    corpus.forEach(({ name, frames }, i) => {
      const n = frames.length;
      const splits = [0, Math.floor(n / 2), n];
      // Every capture under the first setting, and each under one of the other presets.
      for (const settings of [SETTINGS[0]!, SETTINGS[1 + (i % 3)]!]) {
        const r = assertExact(name, frames, settings, splits);
        live += r.live.reduce((a, b) => a + b, 0);
        records += r.whole.length;
        assertUids(`${name} ${settings.preset}`, r.whole);
      }
    });
    // The splits did cut through open flows.
    assert.ok(live > 500 && records > 5000, `${live} live flows at splits, ${records} records`);
  });

  it('continue a capture of long flows exactly under every preset and feature mode', () => {
    const n = synthFrames.length;
    const splits = [0, Math.floor(n / 3), Math.floor((2 * n) / 3), n];
    for (const settings of SETTINGS) {
      for (const features of ['corrected', 'cic', 'none'] as const) {
        const s = { ...settings, features, partialEveryS: 2 };
        const r = assertExact('synth', synthFrames, s, splits);
        assert.ok(Math.min(...r.live.slice(1, 3)) > 100, `open flows at the middle splits: ${r.live}`);
        assert.ok(r.whole.some((x) => x.partial));
        assertUids(`synth ${settings.preset} ${features}`, r.whole);
      }
    }
  });

  it('hold each live flow in a few hundred bytes', () => {
    const n = synthFrames.length;
    const sizes: Record<string, number> = {};
    for (const features of ['corrected', 'cic', 'none'] as const) {
      const r = replay(synthFrames, { features, maxFlows: MAX_FLOWS }, [Math.floor(n / 2)]);
      const [live] = r.live;
      const [bytes] = r.bytes;
      assert.ok(live! > 100);
      sizes[features] = Math.round(bytes! / live!);
    }
    assert.ok(sizes.none! < sizes.cic! && sizes.cic! < sizes.corrected!, JSON.stringify(sizes));
    assert.ok(sizes.corrected! <= 400, JSON.stringify(sizes));
  });

  it('move between processes: a snapshot written by another process continues exactly', () => {
    const { name, frames } = corpus.find((c) => c.name === 'ppp__LARGE_tls_v4_v6.pcap')!;
    const k = Math.floor(frames.length / 2);
    const settings = SETTINGS[0]!;
    const image = path.join(dir, 'engine.snap');
    const firstHalf = path.join(dir, 'first.jsonl');
    const script = fileURLToPath(new URL('../helpers/snapshot-child.ts', import.meta.url));
    execFileSync(process.execPath, [script, corpusPath(name), String(k), JSON.stringify(settings), image, firstHalf]);
    const out: string[] = fs
      .readFileSync(firstHalf, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    const b = FlowEngine.restore(fs.readFileSync(image), {
      ...settings,
      onFlow: (r) => out.push(canonFlow(r)),
    });
    assert.ok(b.stats.flows_live > 0);
    const p = new PacketContext();
    for (const f of frames.slice(k)) {
      decodeFrame(p, f);
      b.packet(p);
    }
    b.flushAll('end');
    const whole = replay(frames, settings, []).whole.map(canonFlow).sort();
    assert.deepEqual(out.sort(), whole);
  });
});
