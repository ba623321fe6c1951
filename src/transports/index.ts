/**
 * Transport registry: URL scheme to a lazily imported factory, so a run that uses Kafka never
 * loads the Redis client and the other way round.
 */
import { PipelineError } from '../core/errors.ts';
import type { Transport, TransportFactory, TransportOptions } from '../core/transport.ts';

const REGISTRY: Record<string, () => Promise<TransportFactory>> = {
  inproc: async () => (await import('./inproc/inproc.ts')).default,
};

/** The URL schemes `openTransport` knows. */
export const TRANSPORT_SCHEMES: readonly string[] = Object.keys(REGISTRY);

/**
 * Opens a transport from its URL: `inproc://NAME`, `kafka://HOST:PORT[,HOST:PORT]`,
 * `redis://[:PASSWORD@]HOST:PORT[/DB]`, `amqp://[USER:PASS@]HOST:PORT[/VHOST]`.
 * @example
 * const t = await openTransport('kafka://127.0.0.1:9092');
 */
export async function openTransport(url: string, options: TransportOptions = {}): Promise<Transport> {
  let parsed: URL;
  try {
    parsed = new URL(url);
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
