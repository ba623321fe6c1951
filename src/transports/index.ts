/**
 * Transport registry: URL scheme to a lazily imported factory, so a run that uses Kafka never
 * loads the Redis client and the other way round.
 */
import { PipelineError } from '../core/errors.ts';
import type { Transport, TransportFactory, TransportOptions } from '../core/transport.ts';

const REGISTRY: Record<string, () => Promise<TransportFactory>> = {
  inproc: async () => (await import('./inproc/inproc.ts')).default,
  kafka: async () => (await import('./kafka/kafka.ts')).default,
  redis: async () => (await import('./redis/redis.ts')).default,
  rediss: async () => (await import('./redis/redis.ts')).default,
  amqp: async () => (await import('./rabbitmq/rabbitmq.ts')).default,
  amqps: async () => (await import('./rabbitmq/rabbitmq.ts')).default,
};

/** The URL schemes `openTransport` knows. */
export const TRANSPORT_SCHEMES: readonly string[] = Object.keys(REGISTRY);

/**
 * Parses a transport URL. A WHATWG URL holds one host, so a host list
 * (`kafka://a:9092,b:9092`) keeps its first host as the URL's host and travels whole in the
 * `hosts` query parameter, for the transports that take several bootstrap servers.
 * @example
 * parseTransportUrl('kafka://a:9092,b:9092').searchParams.get('hosts'); // 'a:9092,b:9092'
 */
export function parseTransportUrl(url: string): URL {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*@)?([^/?#@]*,[^/?#@]*)(.*)$/i.exec(url);
  if (m === null) return new URL(url);
  const [, scheme, auth = '', hosts = '', rest = ''] = m;
  const parsed = new URL(`${scheme}${auth}${hosts.split(',')[0]}${rest}`);
  parsed.searchParams.set('hosts', hosts);
  return parsed;
}

/**
 * Opens a transport from its URL: `inproc://NAME`, `kafka://HOST:PORT[,HOST:PORT]`,
 * `redis://[:PASSWORD@]HOST:PORT[/DB]`, `amqp://[USER:PASS@]HOST:PORT[/VHOST]`.
 * @example
 * const t = await openTransport('kafka://127.0.0.1:9092');
 */
export async function openTransport(url: string, options: TransportOptions = {}): Promise<Transport> {
  let parsed: URL;
  try {
    parsed = parseTransportUrl(url);
  } catch {
    throw new PipelineError('PCS_USAGE', `not a transport URL: '${url}' (try kafka://127.0.0.1:9092)`);
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  const load = REGISTRY[scheme];
  if (load === undefined) {
    throw new PipelineError(
      'PCS_USAGE',
      `unknown transport '${scheme}' in '${url}'; known: ${TRANSPORT_SCHEMES.map((s) => `${s}://`).join(', ')}`,
    );
  }
  const factory = await load();
  return factory(parsed, options);
}
