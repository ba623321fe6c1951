/**
 * Sustained write rate into a real single Cassandra node: `pcapstream run <capture> --store
 * cassandra://...` end to end (read, decode, flows, every flow row written and flushed), at
 * several write concurrencies. The node runs on the same 2 cores as pcapstream, with
 * Cassandra's production commit-log mode (`periodic`); each run writes into a fresh keyspace.
 *
 *   node bench/cassandra.ts --capture bench/data/synth-1000000000-s42.pcap
 *   node bench/cassandra.ts --capture X --concurrency 16,64,256 --runs 3
 *
 * Reported per concurrency: wall seconds (median), flows and rows written per second, packets
 * per second, peak RSS of the pcapstream process. Also called by `bench/pipeline.ts`.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CassandraServer } from '../scripts/brokers/cassandra.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = path.join(root, 'src', 'cli', 'main.ts');

export interface CassandraRow {
  concurrency: number;
  seconds: number;
  flows: number;
  packets: number;
  rssMB: number;
  retries: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * @example
 * const rows = await benchCassandra('bench/data/synth-1000000000-s42.pcap', [16, 64, 256], 1);
 */
export async function benchCassandra(capture: string, concurrencies: number[], runs: number): Promise<CassandraRow[]> {
  const node = await CassandraServer.start({ commitlogSync: 'periodic' });
  const out: CassandraRow[] = [];
  let ks = 0;
  try {
    for (const c of concurrencies) {
      const samples: CassandraRow[] = [];
      for (let r = 0; r < runs; r++) {
        const url = `${node.url}/bench${++ks}?concurrency=${c}`;
        const p = spawnSync(
          '/usr/bin/time',
          ['-f', '%e %M', process.execPath, cli, 'run', capture, '--store', url, '--exit'],
          { encoding: 'utf8', maxBuffer: 1 << 26 },
        );
        if (p.status !== 0) throw new Error(`run --store failed: ${p.stderr}`);
        const lines = p.stderr.trim().split('\n');
        const [secs, kb] = lines.at(-1)!.split(' ').map(Number) as [number, number];
        const summary = lines.find((l) => / packets, .* flows /.test(l)) ?? '';
        const num = (re: RegExp): number => Number((re.exec(summary)?.[1] ?? '0').replaceAll(',', ''));
        samples.push({
          concurrency: c,
          seconds: secs,
          flows: num(/([\d,]+) flows/),
          packets: num(/^([\d,]+) packets/),
          rssMB: kb / 1024,
          retries: num(/store write retries ([\d,]+)/),
        });
      }
      const secs = median(samples.map((s) => s.seconds));
      out.push({ ...samples[0]!, seconds: secs, rssMB: Math.max(...samples.map((s) => s.rssMB)) });
      process.stderr.write(`cassandra concurrency ${c}: ${secs.toFixed(1)} s\n`);
    }
  } finally {
    await node.cleanup();
  }
  return out;
}

/** Rows per flow: the flow, one per distinct end in `flows_by_host` (index rows are few). */
const ROWS_PER_FLOW = 3;

/**
 * @example
 * console.log(cassandraMarkdown(rows));
 */
export function cassandraMarkdown(rows: CassandraRow[]): string {
  return [
    '| write concurrency | wall s | flows/s | rows/s (≈3 per flow) | packets/s | peak RSS MB | write retries |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.concurrency} | ${r.seconds.toFixed(1)} | ${Math.round(r.flows / r.seconds).toLocaleString('en-US')} | ` +
        `${Math.round((ROWS_PER_FLOW * r.flows) / r.seconds).toLocaleString('en-US')} | ` +
        `${Math.round(r.packets / r.seconds).toLocaleString('en-US')} | ${r.rssMB.toFixed(0)} | ${r.retries} |`,
    ),
  ].join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const opt = (name: string, def: string): string => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
  };
  const capture = opt('capture', path.join(root, 'bench', 'data', 'synth-1000000000-s42.pcap'));
  const concurrencies = opt('concurrency', '16,64,256').split(',').map(Number);
  const rows = await benchCassandra(capture, concurrencies, Math.max(1, Number(opt('runs', '1'))));
  process.stdout.write(`${cassandraMarkdown(rows)}\n`);
}
