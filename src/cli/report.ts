/**
 * Shared end-of-run reporting for commands that read a capture.
 */
import { EXIT_OK, EXIT_TRUNCATED } from './exit-codes.ts';

/** Print a one-line notice for a truncated capture and choose the exit code. */
export function reportTruncation(r: {
  input: { readonly name: string };
  parser: { readonly stats: { warnings: string[] } };
  truncated: { message: string } | null;
}): number {
  for (const w of r.parser.stats.warnings) process.stderr.write(`pcapstream: warning: ${w}\n`);
  if (r.truncated === null) return EXIT_OK;
  process.stderr.write(`pcapstream: ${r.input.name}: ${r.truncated.message}\n`);
  return EXIT_TRUNCATED;
}
