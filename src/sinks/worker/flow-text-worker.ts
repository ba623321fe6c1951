/**
 * Worker entry of `FlowTextThread` (`flow-text-thread.ts`): turns batches of packed flow records
 * into output bytes. The compile cache goes on before the formatters load, as in the decode
 * worker: a worker does not inherit the main thread's.
 */
import module from 'node:module';

module.enableCompileCache?.();
await import('./flow-text-worker-main.ts');
