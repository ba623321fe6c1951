/**
 * `pcapstream stats <file|->`: a summary of a capture, as text or `--json`.
 */
import { PacketContext } from '../../core/packet.ts';
import type { Frame } from '../../core/source.ts';
import { decodeFrame } from '../../decode/dispatch.ts';
import { MAX_DATE_MS } from '../../decode/format.ts';
import type { HierarchyNode, StatsReport } from '../../flow/capture-stats.ts';
import { CaptureStats } from '../../flow/capture-stats.ts';
import { readCapture } from '../../sources/capture.ts';
import { Progress } from '../progress.ts';
import { reportTruncation } from '../report.ts';

export interface StatsOptions {
  json: boolean;
}

function fmtNum(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function hierarchyLines(nodes: HierarchyNode[], total: number, indent: string, out: string[]): void {
  for (const n of nodes) {
    const pct = total > 0 ? (100 * n.packets) / total : 0;
    out.push(
      `${indent}${n.name.padEnd(Math.max(1, 24 - indent.length))} ${fmtNum(n.packets).padStart(12)} pkts ${pct.toFixed(1).padStart(6)}%  ${fmtNum(n.bytes).padStart(15)} bytes`,
    );
    hierarchyLines(n.children, total, indent + '  ', out);
  }
}

/**
 * A packet time as ISO 8601 UTC; seconds since the epoch when a crafted time (pcapng if_tsoffset,
 * 64-bit units) lies outside the calendar Date can show.
 * @example
 * isoSeconds(0); // '1970-01-01T00:00:00.000Z'
 */
function isoSeconds(s: number): string {
  const ms = s * 1000;
  // Floored: Date truncates toward zero, which would round a time before 1970 up.
  return Math.abs(ms) <= MAX_DATE_MS
    ? new Date(Math.floor(ms)).toISOString()
    : `${s} s since 1970 (beyond the calendar)`;
}

/** Human-readable report. */
export function formatStats(name: string, r: StatsReport): string {
  const lines: string[] = [];
  lines.push(`capture:        ${name}`);
  lines.push(`packets:        ${fmtNum(r.packets)}`);
  lines.push(`bytes:          ${fmtNum(r.bytes)} on the wire, ${fmtNum(r.captured_bytes)} captured`);
  if (r.first_timestamp !== null && r.last_timestamp !== null) {
    lines.push(`first packet:   ${isoSeconds(r.first_timestamp)}`);
    lines.push(`last packet:    ${isoSeconds(r.last_timestamp)}`);
  }
  lines.push(`duration:       ${fmtNum(r.duration_s, 6)} s`);
  lines.push(`rate:           ${fmtNum(r.packets_per_s, 1)} pkt/s, ${fmtNum(r.bits_per_s / 1e6, 3)} Mbit/s`);
  lines.push(
    `5-tuple flows:  ${fmtNum(r.flows_5tuple)}${r.flows_refused > 0 ? ` (table full: ${fmtNum(r.flows_refused)} packets not keyed)` : ''}`,
  );
  lines.push(
    `link types:     ${Object.entries(r.link_types)
      .map(([k, v]) => `${k}: ${fmtNum(v)}`)
      .join(', ')}`,
  );
  if (r.truncated_packets > 0) lines.push(`cut by snaplen: ${fmtNum(r.truncated_packets)} packets`);
  lines.push('protocol hierarchy:');
  hierarchyLines(r.hierarchy, r.packets, '  ', lines);
  const an = Object.entries(r.anomalies);
  lines.push(`anomalies:      ${an.length === 0 ? 'none' : `${fmtNum(r.packets_with_anomalies)} packets`}`);
  for (const [code, count] of an) lines.push(`  ${code.padEnd(26)} ${fmtNum(count).padStart(12)}`);
  return lines.join('\n') + '\n';
}

export async function statsCommand(path: string, opts: StatsOptions): Promise<number> {
  // DNS text is not needed for a summary; its names are still walked so anomalies count.
  const p = new PacketContext();
  p.appDetail = false;
  const stats = new CaptureStats();
  const progress = new Progress();
  const onFrame = (f: Frame): void => {
    p.frameNumber = stats.packets + 1;
    decodeFrame(p, f);
    stats.add(p);
  };
  const result = await readCapture(path, onFrame, {
    afterChunk: (input) => {
      progress.update(input.bytesRead(), input.size, stats.packets);
    },
  });
  progress.done();
  const report = stats.report(result.parser.stats);
  process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatStats(result.input.name, report));
  return reportTruncation(result);
}
