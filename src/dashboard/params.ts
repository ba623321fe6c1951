/**
 * Query-string validation for the dashboard's HTTP API.
 *
 * Every parameter is untrusted. A request is refused (HTTP 400, `{ "error": "..." }`) when it
 * carries a parameter the endpoint does not know, repeats one, or gives a value outside its
 * documented form and range, so a typo never silently widens a query. An empty value (`?ip=`)
 * means the parameter is absent, so a form can submit blank filters. The limits here are the
 * ones docs/dashboard.md documents; the read model clamps again on its side.
 */

import { isIP } from 'node:net';
import { PROTOCOL_NAMES, protocolName, protocolNumber } from '../flow/protocols.ts';

/** A client error: the server answers 400 with `message` as `{ "error": message }`. */
export class BadRequestError extends Error {
  /**
   * @example
   * throw new BadRequestError('window must be 1 or 60');
   */
  constructor(message: string) {
    super(message);
    this.name = 'BadRequestError';
  }
}

/** Longest accepted value of any parameter except `sql`. */
const MAX_VALUE_CHARS = 256;
/** Longest accepted `sql` text. */
export const MAX_SQL_CHARS = 8192;

/**
 * The parameters of `url`, refusing unknown and repeated names and over-long values.
 * @example
 * const q = readParams(new URL('http://h/api/flows?limit=10'), ['limit', 'offset']); // Map { 'limit' => '10' }
 */
export function readParams(url: URL, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const seen = new Set<string>();
  for (const [name, value] of url.searchParams) {
    if (!allowed.includes(name)) {
      const known = allowed.length === 0 ? 'none' : allowed.join(', ');
      throw new BadRequestError(`unknown parameter "${clip(name)}" (known: ${known})`);
    }
    if (seen.has(name)) throw new BadRequestError(`parameter "${name}" given more than once`);
    seen.add(name);
    if (value === '') continue;
    const max = name === 'sql' ? MAX_SQL_CHARS : MAX_VALUE_CHARS;
    if (value.length > max) throw new BadRequestError(`parameter "${name}" is longer than ${max} characters`);
    out.set(name, value);
  }
  return out;
}

/** Range and default of an integer parameter. */
export interface IntRule {
  min: number;
  max: number;
  /** Value when the parameter is absent; without one the parameter is optional and yields undefined. */
  default?: number;
}

/**
 * Integer parameter: plain decimal digits only (no sign, exponent or fraction), within [min, max].
 * @example
 * intParam(q, 'limit', { min: 1, max: 500, default: 50 }); // 50 when absent
 */
export function intParam(q: Map<string, string>, name: string, rule: IntRule & { default: number }): number;
export function intParam(q: Map<string, string>, name: string, rule: IntRule): number | undefined;
export function intParam(q: Map<string, string>, name: string, rule: IntRule): number | undefined {
  const v = q.get(name);
  if (v === undefined) return rule.default;
  const n = /^[0-9]{1,16}$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < rule.min || n > rule.max) {
    throw new BadRequestError(`${name} must be a whole number from ${rule.min} to ${rule.max}`);
  }
  return n;
}

/**
 * Parameter restricted to a fixed set of values.
 * @example
 * choiceParam(q, 'kind', ['talkers', 'ports', 'conversations']); // throws when absent
 */
export function choiceParam<T extends string>(q: Map<string, string>, name: string, choices: readonly T[], def?: T): T {
  const v = q.get(name);
  if (v === undefined) {
    if (def !== undefined) return def;
    throw new BadRequestError(`${name} is required (one of ${choices.join(', ')})`);
  }
  if (!(choices as readonly string[]).includes(v)) {
    throw new BadRequestError(`${name} must be one of ${choices.join(', ')}`);
  }
  return v as T;
}

/** Metric window lengths the store holds. */
export const WINDOW_CHOICES = ['1', '60'] as const;

/**
 * The `window` parameter as seconds: 1 or 60.
 * @example
 * windowParam(q, 60); // 60 when absent
 */
export function windowParam(q: Map<string, string>, def: 1 | 60): 1 | 60 {
  return Number(choiceParam(q, 'window', WINDOW_CHOICES, String(def) as '1' | '60')) as 1 | 60;
}

/**
 * The `protocol` filter as a flow record's `protocol_name`: a name (`tcp`, `udp`, `icmp`,
 * `icmpv6`, `gre`, `sctp`) or an IP protocol number 0..255 (numbers with a name become that name).
 * @example
 * protocolParam(q); // 'udp' for ?protocol=17 or ?protocol=UDP
 */
export function protocolParam(q: Map<string, string>): string | undefined {
  const v = q.get('protocol');
  if (v === undefined) return undefined;
  const lower = v.toLowerCase();
  if (protocolNumber(lower) !== undefined) return lower;
  if (/^[0-9]{1,3}$/.test(v) && Number(v) <= 255) return protocolName(Number(v));
  throw new BadRequestError(`protocol must be ${Object.values(PROTOCOL_NAMES).join(', ')} or a protocol number 0..255`);
}

/**
 * The `ip` filter: an IPv4 or IPv6 address in text form.
 * @example
 * ipParam(q); // '10.0.0.1' for ?ip=10.0.0.1
 */
export function ipParam(q: Map<string, string>): string | undefined {
  const v = q.get('ip');
  if (v === undefined) return undefined;
  if (isIP(v) === 0) throw new BadRequestError('ip must be an IPv4 or IPv6 address');
  return v;
}

/**
 * The `sql` parameter: required, not blank.
 * @example
 * sqlParam(q); // 'SELECT count(*) FROM flows'
 */
export function sqlParam(q: Map<string, string>): string {
  const v = q.get('sql');
  if (v === undefined || v.trim() === '') throw new BadRequestError('sql is required');
  return v;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}
