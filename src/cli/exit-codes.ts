/**
 * Process exit codes, documented in docs/cli.md. Scripts rely on them: never renumber.
 */
import { isPipelineError } from '../core/errors.ts';

/** Success. */
export const EXIT_OK = 0;
/** Unexpected internal failure (a bug): the message says so. */
export const EXIT_INTERNAL = 1;
/** Bad command line or configuration. */
export const EXIT_USAGE = 2;
/** The capture is truncated or damaged: every packet before the damage was processed. */
export const EXIT_TRUNCATED = 3;
/** The input could not be opened or is not a supported capture format. */
export const EXIT_INPUT = 4;
/** Output could not be written. */
export const EXIT_OUTPUT = 5;
/** A broker could not be reached, or refused us, at start or after retrying an outage. */
export const EXIT_TRANSPORT = 6;

/** Exit code for an error thrown out of a command. */
export function exitCodeFor(err: unknown): number {
  if (!isPipelineError(err)) return EXIT_INTERNAL;
  switch (err.code) {
    case 'PCS_USAGE':
    case 'PCS_CONFIG':
    // The fix is another --host/--port, a configuration change.
    case 'PCS_DASHBOARD_LISTEN':
    // Refused, invalid or too slow SQL: the query text is the user's to fix.
    case 'PCS_QUERY_REFUSED':
    case 'PCS_QUERY':
      return EXIT_USAGE;
    case 'PCS_SOURCE_TRUNCATED':
      return EXIT_TRUNCATED;
    case 'PCS_SOURCE_OPEN':
    case 'PCS_SOURCE_FORMAT':
    case 'PCS_SOURCE_READ':
    // A live capture that cannot start (no interface, no permission, bad filter), or a
    // checkpoint that cannot be read back: the input side of the pipeline.
    case 'PCS_CAPTURE':
    case 'PCS_SNAPSHOT':
      return EXIT_INPUT;
    case 'PCS_TRANSPORT_OPEN':
    case 'PCS_TRANSPORT':
      return EXIT_TRANSPORT;
    case 'PCS_SINK_OPEN':
    case 'PCS_STORE_OPEN':
    case 'PCS_SINK_WRITE':
      return EXIT_OUTPUT;
  }
}
