/**
 * Hot-path benchmark: read -> decode (-> flow keys) on a ~1 GB synthetic capture, beside peer
 * tools run by the same script on the same file.
 *
 *   npm run bench                       # ~1 GB capture, every tool
 *   npm run bench -- --bytes 200000000  # smaller capture
 *   npm run bench -- --only pcapstream  # skip the peers
 *   npm run bench -- --runs 5           # runs per command (median reported; default 3)
 *
 * Each command runs `--runs` times under GNU time, in rounds (one run of every command per round,
 * so the machine's drift falls on all alike); the median wall time and the highest peak RSS are
 * reported. tshark is far slower than the
 * rest, so it decodes a slice of the first packets and its rate is taken on that slice.
 * Prints a table and a Markdown block ready for docs/benchmarks.md.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
};
const targetBytes = Number(opt('bytes', String(1_000_000_000)));
const seed = Number(opt('seed', '42'));
const only = opt('only', '');
const tsharkSlice = Number(opt('tshark-packets', '200000'));
const runs = Math.max(1, Number(opt('runs', '3')));
const dataDir = path.join(root, 'bench', 'data');
const capture = path.join(dataDir, `synth-${targetBytes}-s${seed}.pcap`);
const node = process.execPath;
const cli = path.join(root, 'src', 'cli', 'main.ts');

interface Result {
  name: string;
  command: string;
  seconds: number;
  rssMB: number;
  packets: number;
  bytes: number;
  note: string;
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Run a shell command under GNU time; returns wall seconds and peak RSS in MB. */
function timed(command: string): { seconds: number; rssMB: number; stdout: string } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', 'sh', '-c', command], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`failed (${r.status}): ${command}\n${r.stderr}`);
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const [secs, kb] = last.split(' ').map(Number);
  return { seconds: secs ?? Number.NaN, rssMB: (kb ?? 0) / 1024, stdout: r.stdout };
}

if (!fs.existsSync('/usr/bin/time')) {
  process.stderr.write('bench needs GNU time (/usr/bin/time): apt-get install time\n');
  process.exit(2);
}
fs.mkdirSync(dataDir, { recursive: true });
if (!fs.existsSync(capture) || !fs.existsSync(`${capture}.truth.json`)) {
  process.stderr.write(`generating ${path.relative(root, capture)} ...\n`);
  const g = timed(`"${node}" "${cli}" synth --out "${capture}" --bytes ${targetBytes} --seed ${seed}`);
  process.stderr.write(`  synth: ${g.seconds.toFixed(1)} s\n`);
}
const truth = JSON.parse(fs.readFileSync(`${capture}.truth.json`, 'utf8')) as {
  packets: number;
  flows: { total: number };
};
const fileBytes = fs.statSync(capture).size;
const packets = truth.packets;
const results: Result[] = [];

interface Job {
  name: string;
  command: string;
  packets: number;
  bytes: number;
  note: string;
  times: ReturnType<typeof timed>[];
}
const jobs: Job[] = [];

/**
 * Register a command; `runJobs()` runs every registered command `runs` times and keeps the median
 * wall time (shared machines are noisy). Runs are interleaved, one of each command per round, so
 * the machine's slow and fast phases fall on every tool alike and the ratios between tools hold.
 */
function bench(name: string, command: string, n = packets, bytes = fileBytes, note = ''): void {
  if (only && !name.startsWith(only)) return;
  jobs.push({ name, command, packets: n, bytes, note, times: [] });
}

function runJobs(): void {
  for (let round = 1; round <= runs; round++) {
    process.stderr.write(`round ${round} of ${runs}: ${jobs.map((j) => j.name).join(', ')}\n`);
    for (const j of jobs) j.times.push(timed(j.command));
  }
  for (const j of jobs) {
    const all = [...j.times].sort((a, b) => a.seconds - b.seconds);
    const t = all[Math.floor(all.length / 2)]!;
    const spread = `${all[0]!.seconds.toFixed(2)}-${all[all.length - 1]!.seconds.toFixed(2)} s`;
    results.push({
      name: j.name,
      command: j.command,
      seconds: t.seconds,
      rssMB: Math.max(...all.map((r) => r.rssMB)),
      packets: j.packets,
      bytes: j.bytes,
      note: [j.note, runs > 1 ? `median of ${runs} (${spread})` : ''].filter((x) => x !== '').join('; '),
    });
  }
}

const q = (s: string): string => `"${s}"`;
bench('cat', `cat ${q(capture)} > /dev/null`);
if (have('tcpdump')) bench('tcpdump -nn -r', `tcpdump -nn -r ${q(capture)} > /dev/null 2>&1`);
if (have('tshark')) {
  const fields =
    '-e frame.number -e frame.time_epoch -e ip.src -e ip.dst -e ip.proto -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport -e tcp.flags';
  const slice = Math.min(tsharkSlice, packets);
  bench(
    'tshark -T fields',
    `tshark -n -r ${q(capture)} -c ${slice} -T fields ${fields} > /dev/null 2>&1`,
    slice,
    Math.round((fileBytes * slice) / packets),
    `first ${slice.toLocaleString('en-US')} packets, rate scaled`,
  );
}
const baseline = path.join(root, '..', 'shared', 'tools', 'node-baseline.mjs');
if (fs.existsSync(baseline)) {
  bench('plain JS loop (5-tuples)', `${q(node)} ${q(baseline)} ${q(capture)} --mode fast > /dev/null`);
}
bench('pcapstream stats', `${q(node)} ${q(cli)} stats ${q(capture)} --json > /dev/null`);
bench('pcapstream decode jsonl', `${q(node)} ${q(cli)} decode ${q(capture)} --format jsonl > /dev/null`);

// Flow exporters: softflowd (C) tracks flows and exports NetFlow v9 to a port nobody listens on.
const flows = truth.flows.total;
const softflowd = ['softflowd', '/usr/sbin/softflowd'].find((c) => have(c) || fs.existsSync(c));
if (softflowd !== undefined) {
  bench('softflowd -r', `${softflowd} -r ${q(capture)} -n 127.0.0.1:9995 -d -6 -m 2000000 -v 9 > /dev/null 2>&1`);
}
bench('pcapstream flows', `${q(node)} ${q(cli)} flows ${q(capture)} --format csv > /dev/null`);
bench('pcapstream flows --features none', `${q(node)} ${q(cli)} flows ${q(capture)} --features none > /dev/null`);
const db = path.join(os.tmpdir(), `pcapstream-bench-${process.pid}.duckdb`);
bench(
  'pcapstream run --no-dashboard',
  `rm -f ${q(db)} ${q(`${db}.wal`)}; ${q(node)} ${q(cli)} run ${q(capture)} --no-dashboard --db ${q(db)} 2>/dev/null`,
);
runJobs();
fs.rmSync(db, { force: true });
fs.rmSync(`${db}.wal`, { force: true });

/** Memory per live flow, in-process: 1M live flows in one engine, RSS growth over the fixed base. */
let perFlow: Record<string, number> | null = null;
if (!only || 'pcapstream flow memory'.startsWith(only)) {
  process.stderr.write('running pcapstream flow memory ...\n');
  const r = spawnSync(node, ['--expose-gc', path.join(root, 'bench', 'flow-memory.ts'), '--flows', '1000000'], {
    encoding: 'utf8',
  });
  if (r.status === 0) perFlow = JSON.parse(r.stdout) as Record<string, number>;
  else process.stderr.write(`flow memory bench failed: ${r.stderr}\n`);
}

/** End to end through a real Kafka broker, 1 and 2 processors (`bench/distributed.ts`). */
let distributed = '';
if (!only || 'kafka'.startsWith(only) || only === 'pcapstream') {
  process.stderr.write('running the distributed pipeline through Kafka ...\n');
  try {
    const { benchDistributed, distributedMarkdown } = await import('./distributed.ts');
    distributed = distributedMarkdown(await benchDistributed(capture, packets, runs));
  } catch (err) {
    process.stderr.write(`distributed bench failed: ${(err as Error).message}\n`);
  }
}

/** Sustained writes into a real Cassandra node through `run --store` (`bench/cassandra.ts`). */
let cassandraTable = '';
if (!only || 'cassandra'.startsWith(only) || only === 'pcapstream') {
  process.stderr.write('running run --store cassandra:// ...\n');
  try {
    const { benchCassandra, cassandraMarkdown } = await import('./cassandra.ts');
    cassandraTable = cassandraMarkdown(await benchCassandra(capture, [16, 64, 256], 1));
  } catch (err) {
    process.stderr.write(`cassandra bench failed: ${(err as Error).message}\n`);
  }
}

const rate = (r: Result): number => r.packets / r.seconds;
const byName = (n: string): Result | undefined => results.find((r) => r.name === n);
const tcpdump = byName('tcpdump -nn -r');
const tshark = byName('tshark -T fields');

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const header = `capture: synth --bytes ${targetBytes} --seed ${seed}: ${packets.toLocaleString('en-US')} packets, ${(fileBytes / 1e6).toFixed(0)} MB\nmachine: ${os.cpus().length} x ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}, Node ${process.versions.node}`;
const rows = results.map((r) => {
  const vsTcpdump = tcpdump ? (rate(r) / rate(tcpdump)).toFixed(2) + 'x' : '';
  const vsTshark = tshark ? (rate(r) / rate(tshark)).toFixed(1) + 'x' : '';
  const flowRate = /flows|run|softflowd/.test(r.name) ? `${(flows / r.seconds / 1e3).toFixed(0)} k` : '';
  return `| ${r.name} | ${(rate(r) / 1e6).toFixed(3)} M | ${(r.bytes / 1e6 / r.seconds).toFixed(0)} | ${flowRate} | ${r.seconds.toFixed(2)} | ${r.rssMB.toFixed(0)} | ${vsTcpdump} | ${vsTshark} | ${r.note} |`;
});
const table = [
  '| tool | packets/s | MB/s | flows/s | wall s | peak RSS MB | vs tcpdump | vs tshark | note |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows,
].join('\n');
const memory =
  perFlow === null
    ? ''
    : `\nmemory per live flow (corrected CIC features): ${perFlow.bytes_per_flow} bytes of RSS (${perFlow.flows} live flows: ${perFlow.rss_mb} MB over a ${perFlow.base_mb} MB base; state accounted ${perFlow.engine_bytes_per_flow} B)\n`;
process.stdout.write(`\n${header}\n\n${table}\n${memory}`);
if (distributed !== '') process.stdout.write(`\nthrough Kafka (same capture):\n\n${distributed}\n`);
if (cassandraTable !== '') process.stdout.write(`\ninto Cassandra (same capture):\n\n${cassandraTable}\n`);
fs.writeFileSync(
  path.join(dataDir, 'last-run.json'),
  JSON.stringify(
    { header, packets, flows, fileBytes, results, perFlow, distributed, cassandra: cassandraTable },
    null,
    2,
  ),
);
