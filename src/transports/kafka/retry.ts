/**
 * Outage handling shared by the Kafka clients: which client errors mean "the broker is away for
 * now" (network failures, leader elections, coordinators loading) and the back-off loop that
 * retries them until `retryForMs` passes.
 */
import { findErrorBy } from '@platformatic/kafka';
import { isPipelineError, PipelineError } from '../../core/errors.ts';

/**
 * The client's error search (nested errors included) for any thrown value.
 * @example
 * if (findError(err, 'apiId', 'TOPIC_ALREADY_EXISTS') !== null) return;
 */
export function findError(err: unknown, property: string, value: unknown): Error | null {
  return err instanceof Error ? findErrorBy(err, property, value) : null;
}

/**
 * True for errors a broker restart or a leader move causes: network errors, timeouts and the
 * broker's retriable error codes. Authentication failures, a client we closed and the broker's
 * final refusals (too large, not authorized, invalid) are not.
 * @example
 * if (isOutage(err)) await sleep(backoff);
 */
export function isOutage(err: unknown): boolean {
  if (findError(err, 'code', 'PLT_KFK_AUTHENTICATION') !== null) return false;
  if (tlsRefusal(err)) return false;
  if (findError(err, 'closed', true) !== null) return false;
  if (findError(err, 'code', 'PLT_KFK_NETWORK') !== null) return true;
  if (findError(err, 'code', 'PLT_KFK_PROTOCOL') !== null) return findError(err, 'canRetry', false) === null;
  return false;
}

/** Node's codes for a TLS peer we refuse (or that is not TLS): waiting will not change them. */
const TLS_REFUSAL = /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_)/;

function tlsRefusal(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 8) return false;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown[] };
  if (typeof e.code === 'string' && TLS_REFUSAL.test(e.code)) return true;
  if (tlsRefusal(e.cause, depth + 1)) return true;
  return Array.isArray(e.errors) && e.errors.some((x) => tlsRefusal(x, depth + 1));
}

/**
 * Short reason of a client error, for messages (the last attempt of a retried operation).
 * @example
 * throw new PipelineError('PCS_TRANSPORT', `kafka: commit: ${reason(err)}`, { cause: err });
 */
export function reason(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return `${err.message} (last: ${reason(err.errors[err.errors.length - 1])})`;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Resolves after `ms` milliseconds.
 * @example
 * await sleep(backoff(attempt));
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Back-off for attempt n (0-based): 100 ms doubling up to 2 s.
 * @example
 * backoff(0); // 100
 * backoff(9); // 2000
 */
export function backoff(attempt: number): number {
  return Math.min(2000, 100 * 2 ** Math.min(attempt, 5));
}

/**
 * Runs `op`, retrying outages with back-off for up to `retryForMs`; then rejects with a
 * retriable `PCS_TRANSPORT`. Other failures reject at once with a non-retriable one.
 * `stopped` ends the retries early (the client was closed).
 * @example
 * const n = await withRetry('kafka: metadata', 120_000, () => admin.metadata({ topics }));
 */
export async function withRetry<T>(
  what: string,
  retryForMs: number,
  op: () => Promise<T>,
  stopped: () => boolean = () => false,
): Promise<T> {
  const start = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (isPipelineError(err)) throw err;
      if (!isOutage(err)) throw new PipelineError('PCS_TRANSPORT', `${what}: ${reason(err)}`, { cause: err });
      if (stopped() || Date.now() - start >= retryForMs) {
        throw new PipelineError(
          'PCS_TRANSPORT',
          `${what}: broker unavailable for ${Date.now() - start} ms: ${reason(err)}`,
          {
            cause: err,
            retriable: true,
          },
        );
      }
      await sleep(Math.min(backoff(attempt), Math.max(0, retryForMs - (Date.now() - start))));
    }
  }
}
