/**
 * Command-line entry point: argument parsing and wiring only. Each command lives in
 * `cli/commands/` and uses the library's public modules.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { isPipelineError } from '../core/errors.ts';
import { DEFAULT_PAYLOAD_BYTES } from '../decode/fields.ts';
import { decodeCommand } from './commands/decode.ts';
import { demoCommand } from './commands/demo.ts';
import { statsCommand } from './commands/stats.ts';
import { synthCommand } from './commands/synth.ts';
import { EXIT_INTERNAL, EXIT_USAGE, exitCodeFor } from './exit-codes.ts';

const VERSION = '0.1.0';

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number >= 0`);
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
      run(() => decodeCommand(input, o)),
    );

  program
    .command('stats')
    .description('summarise a capture: totals, rates, link types, protocol hierarchy, anomalies, 5-tuples')
    .argument('<input>', 'pcap or pcapng file (optionally gzip-compressed), or - for stdin')
    .option('--json', 'machine-readable JSON output', false)
    .action((input: string, o: { json: boolean }) => run(() => statsCommand(input, o)));

  program
    .command('synth')
    .description('write a deterministic, realistic mixed-traffic capture and its ground-truth JSON')
    .requiredOption('--out <file>', 'capture file to write (ground truth goes to FILE.truth.json)')
    .option('--packets <n>', 'number of packets', positiveInt('--packets'))
    .option('--bytes <n>', 'approximate file size instead of a packet count', positiveInt('--bytes'))
    .option('--seed <n>', 'random seed', positiveInt('--seed'), 1)
    .addOption(new Option('--format <format>', 'capture format').choices(['pcap', 'pcapng']).default('pcap'))
    .action((o: { out: string; packets?: number; bytes?: number; seed: number; format: 'pcap' | 'pcapng' }) =>
      run(() => synthCommand(o)),
    );

  program
    .command('demo')
    .description('generate a sample capture (if missing) and summarise it')
    .option('--out <file>', 'sample capture path', 'out/sample.pcap')
    .action((o: { out: string }) => run(() => demoCommand(o)));

  return program;
}

await buildProgram().parseAsync(process.argv);
