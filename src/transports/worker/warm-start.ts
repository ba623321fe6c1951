/**
 * A decode worker started as the process starts, before the command's modules load.
 *
 * Why: a worker needs ~0.12 s to boot (a V8 isolate, Node's bootstrap, the decoders' modules)
 * before its first packet, and the thread that consumes the packets is ready ~0.15 s after the
 * process starts. Started only once the command runs, the worker's boot came after both, and
 * the consumer sat idle for it: ~0.1 s of a 1.5 s `flows` over a 1 GB capture. Started here,
 * it boots while the command line is parsed and the command loads; `decode-pipeline.ts` then
 * hands it its input by message instead of starting one.
 *
 * A warm worker nobody takes (the input turned out small, say) does not keep the process
 * alive, and waits idle until the process ends.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export const DECODE_WORKER_URL = new URL('./decode-worker.ts', import.meta.url);

/**
 * Smallest file `threads: 0` reads in two stages (`decode-pipeline.ts`). At ~0.9 us a packet on
 * one thread, 16 MiB (some 40,000 packets of ~400 bytes) take ~40 ms: about what the worker's
 * start-up costs. Here because this module, loaded before the program, decides the same way.
 */
export const TWO_STAGE_MIN_BYTES = 16 * 1024 * 1024;

let warm: Worker | null = null;
/** The warm worker failed or ended before it was taken: not handed out. */
let broken = false;

/**
 * Start a decode worker now when `argv` (the process's arguments after the script) looks like
 * a command that will read a large file in two stages: `run` or `flows` on a file of 16 MiB or
 * more, without `--threads 1` (or `--store-packets` for `run`, which decodes on one thread).
 * A wrong guess costs one idle worker.
 * @example
 * warmDecodeWorkerFor(process.argv.slice(2));
 */
export function warmDecodeWorkerFor(argv: readonly string[]): void {
  if (warm !== null || !wantsTwoStages(argv)) return;
  const w = new Worker(fileURLToPath(DECODE_WORKER_URL));
  w.unref();
  w.once('error', () => {
    broken = true;
  });
  w.once('exit', () => {
    broken = true;
  });
  warm = w;
}

function wantsTwoStages(argv: readonly string[]): boolean {
  const cmd = argv[0];
  if (cmd !== 'run' && cmd !== 'flows') return false;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h' || a === '--threads=1' || (a === '--threads' && argv[i + 1] === '1')) return false;
    if (cmd === 'run' && a === '--store-packets') return false;
  }
  // The input is one of the words that are not options; any large regular file among them will do.
  return argv.slice(1).some((a) => !a.startsWith('-') && isLargeFile(a));
}

/** A regular file of `TWO_STAGE_MIN_BYTES` or more (false when it cannot be read: the one-thread path reports that). */
export function isLargeFile(path: string): boolean {
  try {
    const st = fs.statSync(path);
    return st.isFile() && st.size >= TWO_STAGE_MIN_BYTES;
  } catch {
    return false;
  }
}

/**
 * Whether a warm worker is waiting to be taken (`waiting`), failed or ended before it was
 * (`broken`), or there is none (`none`: never started, or already taken).
 * @example
 * if (warmDecodeWorkerState() === 'broken') log('the decode worker did not boot');
 */
export function warmDecodeWorkerState(): 'none' | 'waiting' | 'broken' {
  if (warm === null) return 'none';
  return broken ? 'broken' : 'waiting';
}

/**
 * The warm worker, once, if there is a healthy one: it waits for its setup as its first
 * message (see `decode-worker-main.ts`). The caller owns it from here (it is ref'd again).
 * @example
 * const worker = takeWarmDecodeWorker() ?? new Worker(fileURLToPath(DECODE_WORKER_URL), { workerData });
 */
export function takeWarmDecodeWorker(): Worker | null {
  const w = warm;
  warm = null;
  if (w === null || broken) return null;
  w.removeAllListeners('error');
  w.removeAllListeners('exit');
  w.ref();
  return w;
}
