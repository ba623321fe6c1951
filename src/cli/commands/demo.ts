/**
 * `pcapstream demo` (what `npm start` runs): make a sample capture with `synth` if there is
 * none yet, then run the whole pipeline on it with the embedded defaults (DuckDB store, live
 * dashboard), so a fresh clone shows everything with no input and no server to install.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_MAX_LIVE_FLOWS, DEFAULT_PRESET } from '../../flow/flow-engine.ts';
import { runCommand } from './run.ts';
import { synthCommand } from './synth.ts';

export interface DemoOptions {
  out: string;
  db: string;
  host: string;
  port: string;
  exit: boolean;
}

export async function demoCommand(o: DemoOptions): Promise<number> {
  if (!fs.existsSync(o.out)) {
    fs.mkdirSync(path.dirname(o.out), { recursive: true });
    await synthCommand({ out: o.out, packets: 200_000, seed: 1, format: 'pcap' });
  }
  // A fresh store each time, so the dashboard shows this run only.
  fs.mkdirSync(path.dirname(o.db), { recursive: true });
  for (const f of [o.db, `${o.db}.wal`]) fs.rmSync(f, { force: true });
  process.stderr.write(
    `pcapstream: running the pipeline on ${o.out}; query it later with: pcapstream query --db ${o.db} "SELECT ..."\n`,
  );
  return runCommand(o.out, {
    db: o.db,
    storePackets: false,
    datasetEvery: '10000',
    datasetFormat: 'snake',
    label: 'BENIGN',
    host: o.host,
    port: o.port,
    dashboard: true,
    exit: o.exit,
    topN: '10',
    preset: DEFAULT_PRESET,
    features: 'corrected',
    maxFlows: String(DEFAULT_MAX_LIVE_FLOWS),
    partialEvery: '0',
  });
}
