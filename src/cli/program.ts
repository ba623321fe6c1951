/**
 * Command-line entry point: argument parsing and wiring only. Each command lives in
 * `cli/commands/` and uses the library's public modules.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { isPipelineError } from '../core/errors.ts';
import { DEFAULT_REPORT_LIMIT, REPORT_NAMES } from '../core/reports.ts';
import { DEFAULT_PAYLOAD_BYTES } from '../decode/fields.ts';
import { DEFAULT_STORE_PATH } from '../sinks/db/schema.ts';
import type { CaptureCliOptions } from './commands/capture.ts';
import type { CqlOptions } from './commands/cql.ts';
import type { DemoOptions } from './commands/demo.ts';
import type { FlowsOptions } from './commands/flows.ts';
import type { ProcessCliOptions } from './commands/process.ts';
import type { QueryOptions } from './commands/query.ts';
import type { ReplayCliOptions } from './commands/replay.ts';
import type { ReportCliOptions } from './commands/report.ts';
import type { RunOptions } from './commands/run.ts';
import type { SinkCliOptions } from './commands/sink.ts';
import { EXIT_INTERNAL, EXIT_USAGE, exitCodeFor } from './exit-codes.ts';
import { addFlowOptions } from './flow-options.ts';

const VERSION = '0.1.0';

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number >= 0`);
    return n;
  };
}

function atLeastOne(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number >= 1`);
    return n;
  };
}

function fieldList(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

async function run(action: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await action();
  } catch (err) {
    const code = exitCodeFor(err);
    if (isPipelineError(err)) process.stderr.write(`pcapstream: ${err.message}\n`);
    else {
      process.stderr.write(`pcapstream: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    }
    process.exitCode = code === 0 ? EXIT_INTERNAL : code;
  }
  // The command is done and its output written. Anything still holding the event loop is a
  // leaked handle, not work: the Cassandra driver, after a node restart, can keep a connection's
  // heartbeat timer alive past `shutdown()`. Such a leak must not keep the process from exiting.
  setTimeout(() => process.exit(), 2000).unref();
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('pcapstream')
    .description('Real-time packet-capture analytics: decode, summarise and generate captures.')
    .version(VERSION)
    .showHelpAfterError()
    .configureOutput({ outputError: (s, write) => write(`pcapstream: ${s.replace(/^error: /, '')}`) })
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    });

  program
    .command('decode')
    .description('decode every packet into a flat record (JSON Lines or CSV)')
    .argument('<input>', 'pcap or pcapng file (optionally gzip-compressed), or - for stdin')
    .addOption(new Option('--format <format>', 'output format').choices(['jsonl', 'csv']).default('jsonl'))
    .option('--fields <list>', 'comma-separated field names to output (default: all)', fieldList)
    .option('--limit <n>', 'stop after N packets', positiveInt('--limit'))
    .option(
      '--payload-bytes <n>',
      'payload bytes shown in payload_hex',
      positiveInt('--payload-bytes'),
      DEFAULT_PAYLOAD_BYTES,
    )
    .action((input: string, o: { format: 'jsonl' | 'csv'; fields?: string[]; limit?: number; payloadBytes: number }) =>
      run(async () => (await import('./commands/decode.ts')).decodeCommand(input, o)),
    );

  program
    .command('stats')
    .description('summarise a capture: totals, rates, link types, protocol hierarchy, anomalies, 5-tuples')
    .argument('<input>', 'pcap or pcapng file (optionally gzip-compressed), or - for stdin')
    .option('--json', 'machine-readable JSON output', false)
    .action((input: string, o: { json: boolean }) =>
      run(async () => (await import('./commands/stats.ts')).statsCommand(input, o)),
    );

  program
    .command('query')
    .description('read-only SQL over the store (one SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE or EXPLAIN statement)')
    .argument('<sql>', 'the statement, e.g. "SELECT src_ip, count(*) FROM flows_latest GROUP BY 1"')
    .option('--db <file>', 'store file', DEFAULT_STORE_PATH)
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'csv', 'json']).default('table'))
    .option('--max-rows <n>', 'print at most N rows (default: 10000)', atLeastOne('--max-rows'))
    // Loaded on use: DuckDB's native module costs start-up time the other commands need not pay.
    .action((sql: string, o: QueryOptions) =>
      run(async () => (await import('./commands/query.ts')).queryCommand(sql, o)),
    );

  program
    .command('report')
    .description(
      'canned reports over the store (DuckDB or Cassandra): top talkers and ports, host flows, traffic, alerts',
    )
    .argument('[name]', `report: ${REPORT_NAMES.join(', ')} (none: list them with their columns)`)
    .option(
      '--store <file|url>',
      'store: a DuckDB file, or cassandra://HOST[:PORT][,HOST...]/KEYSPACE',
      DEFAULT_STORE_PATH,
    )
    .option(
      '--from <time>',
      'window start, inclusive: ISO 8601 (2024-05-01T10:00:00Z, UTC without a zone) or epoch seconds',
    )
    .option('--to <time>', 'window end, exclusive (same forms as --from)')
    .option('--host <address>', 'host-flows: the IPv4 or IPv6 address at either end of the flows')
    .option('--limit <n>', 'at most N rows (top lists, host flows, alerts)', String(DEFAULT_REPORT_LIMIT))
    .option('--step <seconds>', 'traffic: seconds per row, aligned to the epoch', '60')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'csv', 'json']).default('table'))
    // Loaded on use, like query: the store clients cost start-up time other commands need not pay.
    .action((name: string | undefined, o: ReportCliOptions) =>
      run(async () => (await import('./commands/report.ts')).reportCommand(name, o)),
    );

  program
    .command('cql')
    .description('read-only CQL over a Cassandra store (one SELECT or DESCRIBE statement)')
    .argument('<statement>', 'the statement, e.g. "SELECT sensor, bucket FROM buckets LIMIT 10"')
    .requiredOption('--store <url>', 'the store: cassandra://HOST[:PORT][,HOST...]/KEYSPACE')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'csv', 'json']).default('table'))
    .option('--max-rows <n>', 'print at most N rows (default: 10000)', atLeastOne('--max-rows'))
    .action((statement: string, o: CqlOptions) =>
      run(async () => (await import('./commands/cql.ts')).cqlCommand(statement, o)),
    );

  addFlowOptions(
    program
      .command('flows')
      .description('bidirectional flows with CICFlowMeter features (JSON Lines, CSV or the CICIDS2017 CSV layout)')
      .argument('<input>', 'pcap or pcapng file (optionally gzip-compressed), or - for stdin')
      .addOption(new Option('--format <format>', 'output format').choices(['jsonl', 'csv', 'cic']).default('jsonl'))
      .option('--label <text>', 'Label column of --format cic', 'BENIGN')
      .option('--summary', 'print flow counts on stderr at the end', false),
  ).action((input: string, o: FlowsOptions) =>
    run(async () => (await import('./commands/flows.ts')).flowsCommand(input, o)),
  );

  addFlowOptions(
    program
      .command('run')
      .description('flows, KPIs and anomalies into the store (DuckDB or Cassandra), datasets, and the live dashboard')
      .argument('<input>', 'pcap or pcapng file (optionally gzip-compressed), or - for stdin')
      .option('--db <file>', 'DuckDB store file', DEFAULT_STORE_PATH)
      .option(
        '--store <file|url>',
        'store: a DuckDB file, or cassandra://HOST[:PORT][,HOST...]/KEYSPACE (docs/cassandra.md)',
      )
      .option('--sensor <name>', 'sensor name records are filed under in Cassandra (default: host name)')
      .option('--store-packets', 'also store one row per packet (large; DuckDB only)', false)
      .option('--dataset-dir <dir>', 'write CSV and Parquet flow datasets into DIR')
      .option('--dataset-every <n>', 'flows per dataset part', '10000')
      .option('--dataset-format <format>', 'dataset columns: snake or cic (the CICIDS2017 layout)', 'snake')
      .option('--label <text>', 'Label column of cic datasets', 'BENIGN')
      .option('--host <address>', 'dashboard bind address', '127.0.0.1')
      .option('--port <n>', 'dashboard port (0 = any free port)', '8080')
      .option('--no-dashboard', 'do not serve the dashboard')
      .option('--exit', 'exit when the input is done instead of serving the dashboard until Ctrl-C', false)
      .option('--top-n <n>', 'entries in the top talkers/ports/conversations lists', '10'),
  ).action((input: string, o: RunOptions) => run(async () => (await import('./commands/run.ts')).runCommand(input, o)));

  const roleOptions = (cmd: Command): Command =>
    cmd
      .option('--topic-prefix <prefix>', 'topic names are PREFIX.packets, PREFIX.flows, ...', 'pcapstream')
      .option('--heartbeat-every <s>', 'publish a heartbeat every S seconds (0 = off)', '5');

  roleOptions(
    program
      .command('replay')
      .description('send a capture to the packets topic with tcpreplay timing, partitioned by flow')
      .argument('<file>', 'pcap or pcapng file (optionally gzip-compressed), or - for stdin')
      .requiredOption('--to <url>', 'transport: kafka://HOST:PORT, redis://HOST:PORT, amqp://HOST:PORT, inproc://NAME')
      .option('--partitions <n>', 'partitions of the packets topic when it is created', '4')
      .option('--multiplier <x>', 'replay N times faster than recorded (0.5 = half speed)')
      .option('--pps <n>', 'fixed packets per second')
      .option('--mbps <n>', 'fixed megabits per second')
      .option('--topspeed', 'as fast as the transport takes it', false)
      .option('--loop <n>', 'passes over the file (0 = until stopped)', '1')
      .option('--max-lag <n>', 'wait while the processor group has more than N batches unprocessed')
      .option('--group <name>', 'processor group watched by --max-lag', 'pcapstream'),
  ).action((file: string, o: ReplayCliOptions) =>
    run(async () => (await import('./commands/replay.ts')).replayCommand(file, o)),
  );

  roleOptions(
    program
      .command('capture')
      .description('live capture through tcpdump (as root) into the packets topic, partitioned by flow')
      .requiredOption('--interface <name>', 'network interface, e.g. eth0 or lo')
      .option('--filter <bpf>', 'BPF capture filter, e.g. "tcp port 443"')
      .option('--snaplen <bytes>', 'bytes kept per packet', '262144')
      .requiredOption('--to <url>', 'transport: kafka://HOST:PORT, redis://HOST:PORT, amqp://HOST:PORT')
      .option('--partitions <n>', 'partitions of the packets topic when it is created', '4')
      .option('--no-end', 'on stop, do not tell processors the input ended (they keep flows open)'),
  ).action((o: CaptureCliOptions) => run(async () => (await import('./commands/capture.ts')).captureCommand(o)));

  roleOptions(
    addFlowOptions(
      program
        .command('process')
        .description(
          'consumer-group member: flows, KPIs and anomalies from the packets topic to the flows/metrics topics',
        )
        .requiredOption('--from <url>', 'transport: kafka://HOST:PORT, redis://HOST:PORT, amqp://HOST:PORT')
        .option('--group <name>', 'consumer group', 'pcapstream')
        .option('--checkpoint-every <s>', 'seconds between checkpoints (state saved, offsets committed)', '2')
        .option('--exit-on-end', 'exit once every partition of the packets topic has been processed to its end', false)
        .option('--top-n <n>', 'entries in the top lists of the KPI windows', '10')
        .option('--verbose', 'log assignments and refused commits', false),
    ),
  ).action((o: ProcessCliOptions) => run(async () => (await import('./commands/process.ts')).processCommand(o)));

  roleOptions(
    program
      .command('sink')
      .description('consume the flows, metrics and errors topics into a store, DuckDB or Cassandra (each flow once)')
      .requiredOption('--from <url>', 'transport: kafka://HOST:PORT, redis://HOST:PORT, amqp://HOST:PORT')
      .option('--group <name>', 'consumer group', 'pcapstream-sink')
      .option('--db <file>', 'DuckDB store file', DEFAULT_STORE_PATH)
      .option(
        '--store <file|url>',
        'store: a DuckDB file, or cassandra://HOST[:PORT][,HOST...]/KEYSPACE (docs/cassandra.md)',
      )
      .option('--sensor <name>', 'sensor name records are filed under in Cassandra (default: host name)')
      .option('--exit-after-idle <s>', 'exit after S seconds without messages (default: run until Ctrl-C)'),
  ).action((o: SinkCliOptions) => run(async () => (await import('./commands/sink.ts')).sinkCommand(o)));

  program
    .command('synth')
    .description('write a deterministic, realistic mixed-traffic capture and its ground-truth JSON')
    .requiredOption('--out <file>', 'capture file to write (ground truth goes to FILE.truth.json)')
    .option('--packets <n>', 'number of packets', positiveInt('--packets'))
    .option('--bytes <n>', 'approximate file size instead of a packet count', positiveInt('--bytes'))
    .option('--seed <n>', 'random seed', positiveInt('--seed'), 1)
    .addOption(new Option('--format <format>', 'capture format').choices(['pcap', 'pcapng']).default('pcap'))
    .action((o: { out: string; packets?: number; bytes?: number; seed: number; format: 'pcap' | 'pcapng' }) =>
      run(async () => (await import('./commands/synth.ts')).synthCommand(o)),
    );

  program
    .command('demo')
    .description('generate a sample capture (if missing) and run the whole pipeline on it with the dashboard')
    .option('--out <file>', 'sample capture path', 'out/sample.pcap')
    .option('--db <file>', 'DuckDB store file (replaced)', 'out/sample.duckdb')
    .option('--host <address>', 'dashboard bind address', '127.0.0.1')
    .option('--port <n>', 'dashboard port', '8080')
    .option('--exit', 'exit when done instead of serving the dashboard until Ctrl-C', false)
    .action((o: DemoOptions) => run(async () => (await import('./commands/demo.ts')).demoCommand(o)));

  return program;
}

await buildProgram().parseAsync(process.argv);
