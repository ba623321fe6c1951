/**
 * Operational errors (files, sockets, brokers, databases).
 *
 * Malformed packets are not errors: decoders record anomalies on the packet context instead
 * (see `core/anomalies.ts`). What is thrown is a `PipelineError`, recognised by a symbol brand
 * rather than `instanceof` so errors that cross module copies or worker boundaries still match.
 */

const BRAND = Symbol.for('pcapstream.PipelineError');

/** Error codes; the CLI maps them to exit codes (see `cli/exit-codes.ts`). */
export type PipelineErrorCode =
  | 'PCS_SOURCE_OPEN'
  | 'PCS_SOURCE_FORMAT'
  | 'PCS_SOURCE_TRUNCATED'
  | 'PCS_SOURCE_READ'
  | 'PCS_SINK_OPEN'
  | 'PCS_SINK_WRITE'
  | 'PCS_CONFIG'
  | 'PCS_USAGE'
  | 'PCS_STORE_OPEN'
  | 'PCS_QUERY_REFUSED'
  | 'PCS_QUERY'
  | 'PCS_DASHBOARD_LISTEN'
  | 'PCS_TRANSPORT_OPEN'
  | 'PCS_TRANSPORT'
  | 'PCS_SNAPSHOT'
  | 'PCS_CAPTURE';

export class PipelineError extends Error {
  readonly code: PipelineErrorCode;
  readonly retriable: boolean;
  readonly [BRAND] = true;

  /**
   * @example
   * throw new PipelineError('PCS_SOURCE_OPEN', `cannot open ${path}`, { cause: err });
   */
  constructor(code: PipelineErrorCode, message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PipelineError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** True for any `PipelineError`, whichever copy of this module created it. */
export function isPipelineError(err: unknown): err is PipelineError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}

/**
 * The capture ended inside a block or record. Everything before `offset` was delivered.
 * @example
 * if (isPipelineError(e) && e.code === 'PCS_SOURCE_TRUNCATED') console.error(e.message);
 */
export class TruncatedCaptureError extends PipelineError {
  readonly offset: number;
  readonly frames: number;
  constructor(message: string, offset: number, frames: number) {
    super('PCS_SOURCE_TRUNCATED', message);
    this.name = 'TruncatedCaptureError';
    this.offset = offset;
    this.frames = frames;
  }
}
