/**
 * `pcapstream demo` (what `npm start` runs): make a sample capture with `synth` if there is
 * none yet, then summarise it, so a fresh clone shows the pipeline end to end with no input.
 */
import fs from 'node:fs';
import path from 'node:path';
import { statsCommand } from './stats.ts';
import { synthCommand } from './synth.ts';

export async function demoCommand(o: { out: string }): Promise<number> {
  if (!fs.existsSync(o.out)) {
    fs.mkdirSync(path.dirname(o.out), { recursive: true });
    await synthCommand({ out: o.out, packets: 200_000, seed: 1, format: 'pcap' });
  }
  process.stderr.write(`pcapstream: summarising ${o.out} (decode it with: pcapstream decode ${o.out} --limit 5)\n`);
  return statsCommand(o.out, { json: false });
}
