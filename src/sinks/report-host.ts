/**
 * The `--host` of a report as the store writes addresses: dotted-quad IPv4, or RFC 5952 IPv6
 * (lowercase, leading zeros dropped, the longest zero run as `::`, IPv4-mapped addresses with a
 * dotted tail), the text `decode/format.ts` produces. Stores compare addresses as text, so
 * `2001:DB8:0::1` must become `2001:db8::1` before any store is asked.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { PipelineError } from '../core/errors.ts';
import { formatIPv4, formatIPv6 } from '../decode/format.ts';

function notAnAddress(text: string): PipelineError {
  return new PipelineError('PCS_USAGE', `--host must be an IPv4 or IPv6 address, got '${text}'`);
}

/** 16-bit groups of a dotted-quad tail. */
function ipv4Groups(text: string): [number, number] {
  const [a, b, c, d] = text.split('.').map(Number) as [number, number, number, number];
  return [(a << 8) | b, (c << 8) | d];
}

/** The eight groups of an IPv6 text that `isIPv6` accepted (no zone). */
function ipv6Groups(text: string): number[] {
  const halves = text.split('::');
  const side = (s: string): number[] => {
    if (s === '') return [];
    const out: number[] = [];
    for (const part of s.split(':')) {
      if (part.includes('.')) out.push(...ipv4Groups(part));
      else out.push(Number.parseInt(part, 16));
    }
    return out;
  };
  const head = side(halves[0]!);
  if (halves.length === 1) return head;
  const tail = side(halves[1]!);
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/**
 * `text` (surrounding spaces ignored) in the store's form, or a `PCS_USAGE` error when it is not
 * an IPv4 or IPv6 address (host names, prefixes and zone ids are refused).
 * @example
 * normalizeReportHost('2001:DB8:0::1'); // '2001:db8::1'
 * normalizeReportHost('::FFFF:10.0.0.1'); // '::ffff:10.0.0.1'
 */
export function normalizeReportHost(text: string): string {
  const t = text.trim();
  if (isIPv4(t)) {
    const [hi, lo] = ipv4Groups(t);
    return formatIPv4(((hi << 16) | lo) >>> 0);
  }
  if (!isIPv6(t) || t.includes('%')) throw notAnAddress(text);
  const g = ipv6Groups(t);
  if (g.length !== 8) throw notAnAddress(text);
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = ((g[2 * i]! << 16) | g[2 * i + 1]!) >>> 0;
  return formatIPv6(w);
}
