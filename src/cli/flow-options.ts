/**
 * Command-line options shared by `flows` and `run`: preset, timeouts, features, cap.
 */
import type { Command } from 'commander';
import { PipelineError } from '../core/errors.ts';
import type { CicMode } from '../flow/cic-features.ts';
import { DEFAULT_MAX_LIVE_FLOWS, DEFAULT_PRESET, FLOW_PRESETS, type FlowTimeouts } from '../flow/flow-engine.ts';

export interface FlowCliOptions {
  preset: string;
  idleTimeout?: string;
  activeTimeout?: string;
  linger?: string;
  activityTimeout?: string;
  features: string;
  maxFlows: string;
  partialEvery: string;
  /** '1': read, decode and aggregate on one thread; '2': decode in a worker thread; 'auto' (default). */
  threads?: string;
}

/** Add the flow options to a command. */
export function addFlowOptions(cmd: Command): Command {
  return cmd
    .option('--preset <name>', `flow timeout preset: ${Object.keys(FLOW_PRESETS).join(', ')}`, DEFAULT_PRESET)
    .option('--idle-timeout <s>', 'end a flow after this many seconds without a packet (all protocols; 0 = never)')
    .option('--active-timeout <s>', 'end a flow this many seconds after its first packet (0 = never)')
    .option('--linger <s>', 'seconds a flow stays open after FIN exchange or RST (-1 = end at the first FIN)')
    .option('--activity-timeout <s>', 'gap splitting active and idle periods in the CIC features')
    .option('--features <mode>', 'CIC features: corrected, cic or none', 'corrected')
    .option(
      '--max-flows <n>',
      'cap on live flows; beyond it the least recently seen are evicted',
      String(DEFAULT_MAX_LIVE_FLOWS),
    )
    .option(
      '--partial-every <s>',
      'publish a partial record of long flows every N seconds of packet time (0 = off)',
      '0',
    )
    .option(
      '--threads <n>',
      'hot-path threads: 2 decodes in a worker beside aggregation, 1 does all on one, auto: 2 for files of 16 MiB or more',
      'auto',
    );
}

/** The --threads value: 1, 2, or 0 for auto. */
export function threadsOption(v: string | undefined): number {
  if (v === undefined || v === 'auto') return 0;
  if (v !== '1' && v !== '2') throw new PipelineError('PCS_USAGE', `--threads must be 1, 2 or auto, got '${v}'`);
  return Number(v);
}

function seconds(name: string, v: string | undefined, allowMinusOne = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (n < 0 && !(allowMinusOne && n === -1))) {
    throw new PipelineError(
      'PCS_USAGE',
      `--${name} must be a number of seconds >= 0${allowMinusOne ? ' or -1' : ''}, got '${v}'`,
    );
  }
  return n;
}

/** Engine settings from parsed options; usage errors as PipelineError('PCS_USAGE'). */
export function flowSettings(o: FlowCliOptions): {
  preset: string;
  timeouts: Partial<FlowTimeouts>;
  features: CicMode | 'none';
  maxFlows: number;
  partialEveryS: number;
} {
  if (FLOW_PRESETS[o.preset] === undefined) {
    throw new PipelineError(
      'PCS_USAGE',
      `unknown preset '${o.preset}'; known: ${Object.keys(FLOW_PRESETS).join(', ')}`,
    );
  }
  if (o.features !== 'corrected' && o.features !== 'cic' && o.features !== 'none') {
    throw new PipelineError('PCS_USAGE', `--features must be corrected, cic or none, got '${o.features}'`);
  }
  const timeouts: Partial<FlowTimeouts> = {};
  const idle = seconds('idle-timeout', o.idleTimeout);
  if (idle !== undefined) timeouts.idleTcpS = timeouts.idleUdpS = timeouts.idleOtherS = idle;
  const active = seconds('active-timeout', o.activeTimeout);
  if (active !== undefined) timeouts.activeS = active;
  const linger = seconds('linger', o.linger, true);
  if (linger !== undefined) timeouts.lingerS = linger;
  const activity = seconds('activity-timeout', o.activityTimeout);
  if (activity !== undefined) timeouts.activityS = activity;
  const maxFlows = Number(o.maxFlows);
  if (!Number.isInteger(maxFlows) || maxFlows < 1) {
    throw new PipelineError('PCS_USAGE', `--max-flows must be an integer >= 1, got '${o.maxFlows}'`);
  }
  const partialEveryS = seconds('partial-every', o.partialEvery) ?? 0;
  return { preset: o.preset, timeouts, features: o.features, maxFlows, partialEveryS };
}
