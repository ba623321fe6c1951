/**
 * Names of IP protocols as flow records, KPIs and the dashboard show them: one table, so a GRE
 * flow is `gre` everywhere. Protocols without a name show their number.
 */

/** IP protocol number -> name, for the protocols records name. */
export const PROTOCOL_NAMES: Readonly<Record<number, string>> = {
  1: 'icmp',
  6: 'tcp',
  17: 'udp',
  47: 'gre',
  58: 'icmpv6',
  132: 'sctp',
};

const NUMBERS = new Map(Object.entries(PROTOCOL_NAMES).map(([n, name]) => [name, Number(n)]));

/**
 * `tcp`, `udp`, `icmp`, `icmpv6`, `gre`, `sctp`, else the number as text.
 * @example
 * protocolName(47); // 'gre'
 */
export function protocolName(protocol: number): string {
  return PROTOCOL_NAMES[protocol] ?? String(protocol);
}

/**
 * The number of a protocol name from `PROTOCOL_NAMES`, or undefined.
 * @example
 * protocolNumber('udp'); // 17
 */
export function protocolNumber(name: string): number | undefined {
  return NUMBERS.get(name);
}
