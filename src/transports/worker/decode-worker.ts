/**
 * Decode worker entry, started by `decode-pipeline.ts`. It turns on Node's on-disk compile
 * cache before loading the decoders: a worker does not inherit the main thread's, and compiling
 * them afresh delays the first packets by ~0.15 s (first batch after ~0.22 s instead of ~0.07 s).
 */
import module from 'node:module';

module.enableCompileCache?.();
await import('./decode-worker-main.ts');
