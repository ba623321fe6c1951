/**
 * Shared end-of-run reporting for commands that read a capture.
 */
import type { ReadResult } from '../sources/capture.ts';
import { EXIT_OK, EXIT_TRUNCATED } from './exit-codes.ts';

/** Print a one-line notice for a truncated capture and choose the exit code. */
export function reportTruncation(r: ReadResult): number {
  for (const w of r.parser.stats.warnings) process.stderr.write(`pcapstream: warning: ${w}\n`);
  if (r.truncated === null) return EXIT_OK;
  process.stderr.write(`pcapstream: ${r.input.name}: ${r.truncated.message}\n`);
  return EXIT_TRUNCATED;
}
