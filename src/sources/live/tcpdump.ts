/**
 * Live capture through tcpdump: the packet source of `pcapstream capture`.
 *
 * tcpdump does the privileged part (opening the interface, compiling and attaching the BPF
 * filter in the kernel) and writes a pcap stream to its standard output, which is parsed here with
 * the same `PcapReader` that reads files. It runs as
 *
 *   tcpdump -i IF -w - -U --immediate-mode --time-stamp-precision=nano -s SNAPLEN -B KIB -n -Z root -- FILTER
 *
 * - `-w -` writes pcap to stdout, `-U` flushes after every packet and `--immediate-mode` hands
 *   packets over as they arrive instead of when the kernel buffer fills, so a quiet link is not
 *   held back;
 * - `--time-stamp-precision=nano` keeps the kernel's nanosecond timestamps;
 * - `-B` sets the kernel capture buffer (default 32 MiB, see `DEFAULT_CAPTURE_BUFFER_MIB`);
 * - `-Z root` keeps root: Debian's tcpdump otherwise switches to its `tcpdump` user after
 *   opening the device (harmless with stdout, but one less thing to go wrong);
 * - `--` ends the options, so a filter is never read as one; the filter is one argv element and
 *   no shell is involved.
 *
 * Back-pressure: while `onBatch`'s promise is pending, tcpdump's stdout is not read. The pipe
 * fills, tcpdump blocks on its write, and the kernel drops what no longer fits in the capture
 * buffer. Those drops are counted by the kernel: `droppedByKernel` in the counters. Memory stays
 * at one pipe read plus the batches being built.
 *
 * Counters: tcpdump prints "N packets captured, N packets received by filter, N packets dropped
 * by kernel" on stderr when it gets SIGUSR1 (`stats()`) and when it exits (`result.kernel`).
 * `captured` counts packets tcpdump wrote; `receivedByFilter` counts what the kernel filter
 * accepted (on loopback every packet is seen twice, going out and coming in, and libpcap keeps
 * one, so it is twice `captured` there); `droppedByKernel` counts packets lost for want of buffer
 * space. Other stderr output ("listening on lo, ...") is kept out of the process's stderr;
 * unexpected lines are in `result.messages`, and in the error when tcpdump fails.
 *
 * Errors are `LiveCaptureError`s (`PipelineError`s with a `reason`): tcpdump missing, no such
 * interface, no permission to capture (`PCS_SOURCE_OPEN`), a filter tcpdump cannot compile
 * (`PCS_CONFIG`, with tcpdump's message), tcpdump dying during the capture (`PCS_SOURCE_READ`).
 */
import type { ChildProcessByStdio } from 'node:child_process';
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { PipelineErrorCode } from '../../core/errors.ts';
import { PipelineError, TruncatedCaptureError } from '../../core/errors.ts';
import type { Frame } from '../../core/source.ts';
import { PcapReader } from '../pcap/pcap-reader.ts';
import type { BatchCallback, BatchLimits, BatchOptions, RawFrame } from '../raw-frame.ts';
import { batchLimits, RawFrameCopier } from '../raw-frame.ts';

/** tcpdump's largest snaplen, and its default. */
export const TCPDUMP_MAX_SNAPLEN = 262144;
/**
 * Default kernel capture buffer, MiB (`-B`). libpcap's own default, 2 MiB, is cut into one slot
 * per packet of up to the interface MTU: about 32 slots on `lo` (MTU 65536). With it, 100
 * datagrams on `lo` into a consumer pausing 10 ms per batch lost up to 46 of them; with 32 MiB,
 * none in the same runs.
 */
export const DEFAULT_CAPTURE_BUFFER_MIB = 32;
/** How long `stats()` waits for tcpdump's answer to SIGUSR1. */
const STATS_TIMEOUT_MS = 2000;
/** After SIGINT, tcpdump gets this long to flush and exit before SIGTERM, then as long again before SIGKILL. */
const STOP_GRACE_MS = 5000;
/** How often `shouldStop` is polled. */
const STOP_POLL_MS = 100;
/** Most stderr lines kept for messages. */
const MAX_MESSAGES = 50;

/**
 * Options of `captureLive`.
 * @example
 * const opts: LiveCaptureOptions = { interface: 'eth0', filter: 'tcp port 443', onBatch: send };
 */
export interface LiveCaptureOptions extends BatchOptions {
  /** Interface to capture on (`tcpdump -D` lists them; `any` is every interface). */
  interface: string;
  /** BPF filter expression (pcap-filter(7)); all packets when absent. */
  filter?: string;
  /** Bytes kept of each packet, 1 to 262144. Default 262144. */
  snaplen?: number;
  /** Kernel capture buffer in MiB (tcpdump `-B`): absorbs bursts and consumer pauses. Default 32. */
  bufferMiB?: number;
  /** Receives the batches; awaited before more is read. */
  onBatch: BatchCallback;
  /** Stops the capture (for SIGINT). */
  signal?: AbortSignal;
  /** Polled every 100 ms: true stops the capture. */
  shouldStop?: () => boolean;
  /** The tcpdump program. Default `tcpdump`, found on PATH. */
  tcpdumpPath?: string;
}

/**
 * tcpdump's counters (see the module notes for what each one counts).
 * @example
 * const s: KernelStats = await capture.stats();
 * if (s.droppedByKernel > 0) console.warn(`${s.droppedByKernel} packets dropped`);
 */
export interface KernelStats {
  captured: number;
  receivedByFilter: number;
  droppedByKernel: number;
  /** Drops the interface itself reported; 0 when tcpdump printed none. */
  droppedByInterface: number;
}

/**
 * What a live capture did.
 * @example
 * const r = await captureLive({ interface: 'lo', onBatch });
 * console.log(r.frames, r.kernel?.droppedByKernel);
 */
export interface LiveCaptureResult {
  /** Frames delivered to `onBatch`. */
  frames: number;
  /** Captured bytes delivered. */
  bytes: number;
  batches: number;
  /** LINKTYPE_* of the interface (from the pcap header); 0 if nothing was captured. */
  linkType: number;
  /** Wall seconds from the start to the end of the capture. */
  elapsedSec: number;
  /** tcpdump's final counters; null if it exited without printing them. */
  kernel: KernelStats | null;
  /** stderr lines of tcpdump that were neither the banner nor counters (warnings). */
  messages: string[];
  /** The pcap stream ended inside a record (tcpdump killed mid-write); frames before it were delivered. */
  truncated: TruncatedCaptureError | null;
}

/**
 * A running capture: a promise of its result, with controls.
 * @example
 * const cap = captureLive({ interface: 'eth0', onBatch });
 * await cap.ready;
 * const timer = setInterval(async () => console.log(await cap.stats()), 10_000);
 * const result = await cap;
 * clearInterval(timer);
 */
export interface LiveCapture extends Promise<LiveCaptureResult> {
  /** Resolves once tcpdump listens (packets from then on are captured); rejects as the capture does. */
  readonly ready: Promise<void>;
  /** Ask tcpdump for its counters now (SIGUSR1). After the end, the final counters. */
  stats(): Promise<KernelStats>;
  /** Stop: tcpdump flushes, the rest is delivered, the promise resolves. */
  stop(): void;
}

/**
 * Why a live capture failed.
 * @example
 * const hint: Record<LiveCaptureFailure, string> = { 'not-installed': 'apt-get install tcpdump', ... };
 */
export type LiveCaptureFailure = 'not-installed' | 'no-such-interface' | 'permission' | 'bad-filter' | 'failed';

/**
 * A live capture failed; `reason` says why and `tcpdumpMessage` holds what tcpdump said.
 * @example
 * try { await captureLive({ interface: 'eth9', onBatch }); }
 * catch (e) { if (e instanceof LiveCaptureError && e.reason === 'no-such-interface') listInterfaces(); }
 */
export class LiveCaptureError extends PipelineError {
  readonly reason: LiveCaptureFailure;
  readonly tcpdumpMessage: string;
  constructor(
    code: PipelineErrorCode,
    reason: LiveCaptureFailure,
    message: string,
    tcpdumpMessage: string,
    cause?: unknown,
  ) {
    super(code, message, cause === undefined ? {} : { cause });
    this.name = 'LiveCaptureError';
    this.reason = reason;
    this.tcpdumpMessage = tcpdumpMessage;
  }
}

/**
 * The tcpdump command line for `options` (program name excluded).
 * @example
 * tcpdumpArgs({ interface: 'lo', filter: 'udp' });
 * // ['-i', 'lo', '-w', '-', '-U', '--immediate-mode', '--time-stamp-precision=nano', '-s', '262144',
 * //  '-B', '32768', '-n', '-Z', 'root', '--', 'udp']
 */
export function tcpdumpArgs(options: {
  interface: string;
  filter?: string;
  snaplen?: number;
  bufferMiB?: number;
}): string[] {
  const args = [
    '-i',
    options.interface,
    '-w',
    '-',
    '-U',
    '--immediate-mode',
    '--time-stamp-precision=nano',
    '-s',
    String(options.snaplen ?? TCPDUMP_MAX_SNAPLEN),
    '-B',
    String(Math.round((options.bufferMiB ?? DEFAULT_CAPTURE_BUFFER_MIB) * 1024)),
    '-n',
    '-Z',
    'root',
  ];
  const filter = options.filter?.trim() ?? '';
  if (filter !== '') args.push('--', filter);
  return args;
}

const STATS_LINE =
  /^(?:\S+: )?(\d+) packets? captured, (\d+) packets? received by filter, (\d+) packets? dropped by kernel(?:, (\d+) packets? dropped by interface)?\s*$/;
const FINAL_LINE = /^(\d+) packets? (captured|received by filter|dropped by kernel|dropped by interface)\s*$/;
const LISTENING_LINE = /^\S+: listening on /;

/**
 * Counters from one line tcpdump printed on SIGUSR1, or null if the line is something else.
 * @example
 * parseStatsLine('tcpdump: 5 packets captured, 10 packets received by filter, 0 packets dropped by kernel');
 * // { captured: 5, receivedByFilter: 10, droppedByKernel: 0, droppedByInterface: 0 }
 */
export function parseStatsLine(line: string): KernelStats | null {
  const m = STATS_LINE.exec(line);
  if (m === null) return null;
  return {
    captured: Number(m[1]),
    receivedByFilter: Number(m[2]),
    droppedByKernel: Number(m[3]),
    droppedByInterface: m[4] === undefined ? 0 : Number(m[4]),
  };
}

/**
 * The error for a tcpdump that exited with `exitCode` before it was listening, from what it
 * printed on stderr.
 * @example
 * classifyTcpdumpFailure('tcpdump: eth9: No such device exists', { interface: 'eth9' }, 1).reason;
 * // 'no-such-interface'
 */
export function classifyTcpdumpFailure(
  stderr: string,
  options: { interface: string; filter?: string },
  exitCode: number | null,
): LiveCaptureError {
  const text = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !LISTENING_LINE.test(l))
    .join('; ');
  const said = text === '' ? `tcpdump exited with ${exitCode === null ? 'a signal' : `code ${exitCode}`}` : text;
  const iface = options.interface;
  // libpcap's wording: "No such device exists", "SIOCGIFHWADDR: No such device",
  // "<if>: That device is not up" / "doesn't exist".
  if (/no such device|doesn't exist|does not exist|no suitable device/i.test(text))
    return new LiveCaptureError(
      'PCS_SOURCE_OPEN',
      'no-such-interface',
      `cannot capture on ${iface}: no such interface (tcpdump: ${said}); list them with \`tcpdump -D\``,
      text,
    );
  if (/permission|not permitted|EPERM|EACCES/i.test(text))
    return new LiveCaptureError(
      'PCS_SOURCE_OPEN',
      'permission',
      `not permitted to capture on ${iface}: run as root or give tcpdump CAP_NET_RAW (tcpdump: ${said})`,
      text,
    );
  // The device opened, so what failed is compiling the filter (tcpdump compiles it right after).
  if ((options.filter ?? '').trim() !== '' && text !== '')
    return new LiveCaptureError(
      'PCS_CONFIG',
      'bad-filter',
      `bad capture filter ${JSON.stringify(options.filter)}: ${text.replace(/^tcpdump: /, '')}`,
      text,
    );
  return new LiveCaptureError('PCS_SOURCE_OPEN', 'failed', `cannot capture on ${iface}: ${said}`, text);
}

function checkOptions(o: LiveCaptureOptions): BatchLimits {
  if (typeof o.interface !== 'string' || o.interface === '')
    throw new PipelineError('PCS_CONFIG', 'live capture needs an interface name');
  if (o.snaplen !== undefined && (!Number.isInteger(o.snaplen) || o.snaplen < 1 || o.snaplen > TCPDUMP_MAX_SNAPLEN))
    throw new PipelineError('PCS_CONFIG', `snaplen must be 1 to ${TCPDUMP_MAX_SNAPLEN}, got ${String(o.snaplen)}`);
  if (
    o.bufferMiB !== undefined &&
    (typeof o.bufferMiB !== 'number' || !Number.isFinite(o.bufferMiB) || o.bufferMiB < 1 || o.bufferMiB > 4096)
  )
    throw new PipelineError('PCS_CONFIG', `bufferMiB must be 1 to 4096, got ${String(o.bufferMiB)}`);
  if (o.filter !== undefined && typeof o.filter !== 'string')
    throw new PipelineError('PCS_CONFIG', 'the capture filter must be a string');
  if (typeof o.onBatch !== 'function') throw new PipelineError('PCS_CONFIG', 'live capture needs an onBatch callback');
  return batchLimits(o);
}

/** One run of tcpdump, from spawn to exit. */
class TcpdumpRun {
  private readonly o: LiveCaptureOptions;
  private readonly limits: BatchLimits;
  private readonly child: ChildProcessByStdio<null, Readable, Readable>;
  private readonly reader: PcapReader;
  private readonly copier = new RawFrameCopier();
  private readonly started = performance.now();

  private batch: RawFrame[] = [];
  private batchBytes = 0;
  private batchSince = 0;
  private batchTimer: NodeJS.Timeout | null = null;
  private readonly ready: RawFrame[][] = [];
  private pumping = false;
  private stdoutEnded = false;
  private streamBytes = 0;

  private listening = false;
  private stopping = false;
  private exited = false;
  private failure: unknown = null;
  private truncated: TruncatedCaptureError | null = null;
  private stderrText = '';
  private stderrTail = '';
  private readonly messages: string[] = [];
  private finalStats: Partial<KernelStats> | null = null;
  private lastStats: KernelStats | null = null;
  private statsWaiters: { resolve: (s: KernelStats) => void; reject: (e: unknown) => void }[] = [];
  private statsTimer: NodeJS.Timeout | null = null;
  private stopTimers: NodeJS.Timeout[] = [];
  private pollTimer: NodeJS.Timeout | null = null;
  private readonly killOnExit = (): void => {
    if (!this.exited) this.child.kill('SIGKILL');
  };
  private readonly onAbort = (): void => this.stop();

  frames = 0;
  bytes = 0;
  batches = 0;

  readonly done: Promise<LiveCaptureResult>;
  readonly readyPromise: Promise<void>;
  private resolveDone!: (r: LiveCaptureResult) => void;
  private rejectDone!: (e: unknown) => void;
  private resolveReady!: () => void;
  private rejectReady!: (e: unknown) => void;

  constructor(o: LiveCaptureOptions, limits: BatchLimits) {
    this.o = o;
    this.limits = limits;
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.readyPromise = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Callers that only await the result must not see an unhandled rejection of `ready`.
    this.readyPromise.catch(() => {});
    this.reader = new PcapReader(this.onFrame);
    this.child = spawn(o.tcpdumpPath ?? 'tcpdump', tcpdumpArgs(o), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.on('error', (err) => this.onSpawnError(err));
    this.child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    this.child.stdout.on('end', () => this.onStdoutEnd());
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => this.onStderr(text));
    this.child.on('close', (code) => this.onClose(code));
    process.once('exit', this.killOnExit);
    o.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (o.shouldStop !== undefined) {
      const shouldStop = o.shouldStop;
      this.pollTimer = setInterval(() => {
        if (shouldStop()) this.stop();
      }, STOP_POLL_MS);
    }
  }

  private readonly onFrame = (f: Frame): void => {
    if (this.batch.length === 0) {
      this.batchSince = performance.now();
      this.batchTimer ??= setTimeout(this.onBatchTimer, this.limits.maxBatchDelayMs);
    }
    const raw = this.copier.copy(f);
    this.batch.push(raw);
    this.batchBytes += raw.data.length;
    if (this.batch.length >= this.limits.batchFrames || this.batchBytes >= this.limits.batchBytes) this.closeBatch();
  };

  private readonly onBatchTimer = (): void => {
    this.batchTimer = null;
    if (this.batch.length === 0) return;
    const age = performance.now() - this.batchSince;
    if (age >= this.limits.maxBatchDelayMs - 0.5) {
      this.closeBatch();
      this.pump();
    } else this.batchTimer = setTimeout(this.onBatchTimer, this.limits.maxBatchDelayMs - age);
  };

  private closeBatch(): void {
    if (this.batch.length === 0) return;
    this.ready.push(this.batch);
    this.batch = [];
    this.batchBytes = 0;
  }

  private onData(chunk: Buffer): void {
    if (this.failure !== null) return; // draining so tcpdump can exit
    this.streamBytes += chunk.length;
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (this.ready.length > 0) this.pump();
  }

  private onStdoutEnd(): void {
    this.stdoutEnded = true;
    if (this.failure === null && this.streamBytes > 0) {
      try {
        this.reader.end();
      } catch (err) {
        if (err instanceof TruncatedCaptureError) this.truncated = err;
        else this.fail(err);
      }
    }
    this.closeBatch();
    this.pump();
  }

  /** Deliver the ready batches one at a time, not reading stdout meanwhile. */
  private pump(): void {
    if (this.pumping) return;
    if (this.ready.length === 0 || this.failure !== null) {
      this.maybeFinish();
      return;
    }
    this.pumping = true;
    if (!this.stdoutEnded) this.child.stdout.pause();
    void this.runPump();
  }

  private async runPump(): Promise<void> {
    try {
      while (this.ready.length > 0 && this.failure === null) {
        const b = this.ready.shift()!;
        this.frames += b.length;
        for (const f of b) this.bytes += f.data.length;
        this.batches++;
        await this.o.onBatch(b);
      }
    } catch (err) {
      this.fail(err);
    }
    this.pumping = false;
    if (!this.stdoutEnded) this.child.stdout.resume();
    this.maybeFinish();
  }

  private onStderr(text: string): void {
    this.stderrText += text;
    if (this.stderrText.length > 64 * 1024) this.stderrText = this.stderrText.slice(-32 * 1024);
    const lines = (this.stderrTail + text).split('\n');
    this.stderrTail = lines.pop() ?? '';
    for (const raw of lines) this.onStderrLine(raw.trim());
  }

  private onStderrLine(line: string): void {
    if (line === '') return;
    if (LISTENING_LINE.test(line)) {
      this.listening = true;
      this.resolveReady();
      return;
    }
    const s = parseStatsLine(line);
    if (s !== null) {
      this.gotStats(s);
      return;
    }
    const m = FINAL_LINE.exec(line);
    if (m !== null) {
      const f = (this.finalStats ??= {});
      const n = Number(m[1]);
      if (m[2] === 'captured') f.captured = n;
      else if (m[2] === 'received by filter') f.receivedByFilter = n;
      else if (m[2] === 'dropped by kernel') f.droppedByKernel = n;
      else f.droppedByInterface = n;
      return;
    }
    if (this.messages.length < MAX_MESSAGES) this.messages.push(line);
  }

  private gotStats(s: KernelStats): void {
    this.lastStats = s;
    if (this.statsTimer !== null) {
      clearTimeout(this.statsTimer);
      this.statsTimer = null;
    }
    const waiters = this.statsWaiters;
    this.statsWaiters = [];
    for (const w of waiters) w.resolve(s);
  }

  private get kernel(): KernelStats | null {
    const f = this.finalStats;
    if (f === null || f.captured === undefined) return null;
    return {
      captured: f.captured,
      receivedByFilter: f.receivedByFilter ?? 0,
      droppedByKernel: f.droppedByKernel ?? 0,
      droppedByInterface: f.droppedByInterface ?? 0,
    };
  }

  async stats(): Promise<KernelStats> {
    if (this.exited) {
      const k = this.kernel ?? this.lastStats;
      if (k !== null) return k;
      throw new PipelineError('PCS_SOURCE_READ', 'tcpdump exited without reporting its counters');
    }
    await this.readyPromise;
    return new Promise<KernelStats>((resolve, reject) => {
      this.statsWaiters.push({ resolve, reject });
      if (this.statsTimer !== null) return; // a request is already out
      this.statsTimer = setTimeout(() => {
        this.statsTimer = null;
        const waiters = this.statsWaiters;
        this.statsWaiters = [];
        const err = new PipelineError('PCS_SOURCE_READ', 'tcpdump did not report its counters in time');
        for (const w of waiters) w.reject(err);
      }, STATS_TIMEOUT_MS);
      this.child.kill('SIGUSR1');
    });
  }

  stop(): void {
    if (this.stopping || this.exited) return;
    this.stopping = true;
    // SIGINT lets tcpdump flush and print its counters. Before it listens it has no handler
    // yet and simply dies, which is as good.
    this.child.kill('SIGINT');
    this.stopTimers.push(
      setTimeout(() => this.child.kill('SIGTERM'), STOP_GRACE_MS),
      setTimeout(() => this.child.kill('SIGKILL'), 2 * STOP_GRACE_MS),
    );
    for (const t of this.stopTimers) t.unref();
  }

  private fail(err: unknown): void {
    if (this.failure !== null) return;
    this.failure = err;
    // Keep reading (and discarding) stdout so tcpdump is not stuck writing, and end it.
    this.child.stdout.resume();
    if (!this.exited) {
      this.stopping = true;
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
      t.unref();
      this.stopTimers.push(t);
    }
    this.maybeFinish();
  }

  private onSpawnError(err: NodeJS.ErrnoException): void {
    const prog = this.o.tcpdumpPath ?? 'tcpdump';
    if (err.code === 'ENOENT')
      this.fail(
        new LiveCaptureError(
          'PCS_SOURCE_OPEN',
          'not-installed',
          `${prog} is not installed or not on PATH (Debian: apt-get install tcpdump)`,
          '',
          err,
        ),
      );
    else if (err.code === 'EACCES' || err.code === 'EPERM')
      this.fail(new LiveCaptureError('PCS_SOURCE_OPEN', 'permission', `cannot run ${prog}: ${err.message}`, '', err));
    else this.fail(new LiveCaptureError('PCS_SOURCE_OPEN', 'failed', `cannot run ${prog}: ${err.message}`, '', err));
    // A failed spawn emits no 'close' of its own on every platform: settle here.
    this.exited = true;
    this.stdoutEnded = true;
    this.maybeFinish();
  }

  private onClose(code: number | null): void {
    this.exited = true;
    if (this.stderrTail !== '') {
      this.onStderrLine(this.stderrTail.trim());
      this.stderrTail = '';
    }
    if (this.failure === null) {
      if (!this.listening && !this.stopping) this.fail(classifyTcpdumpFailure(this.stderrText, this.o, code));
      else if (!this.stopping && code !== 0)
        this.fail(
          new LiveCaptureError(
            'PCS_SOURCE_READ',
            'failed',
            `tcpdump on ${this.o.interface} exited with ${code === null ? 'a signal' : `code ${code}`}: ${this.messages.join('; ') || 'no message'}`,
            this.messages.join('\n'),
          ),
        );
    }
    this.stdoutEnded = true;
    this.closeBatch();
    this.pump();
  }

  private maybeFinish(): void {
    if (!this.exited || !this.stdoutEnded) return;
    if (this.failure === null && (this.pumping || this.ready.length > 0)) return;
    if (this.failure !== null && this.pumping) return;
    this.cleanup();
    // A stats() call answered by the exit counters rather than by SIGUSR1.
    const final = this.failure === null ? this.kernel : null;
    const statsErr =
      this.failure ?? new PipelineError('PCS_SOURCE_READ', 'tcpdump exited without reporting its counters');
    for (const w of this.statsWaiters) {
      if (final !== null) w.resolve(final);
      else w.reject(statsErr);
    }
    this.statsWaiters = [];
    if (this.failure !== null) {
      this.rejectReady(this.failure);
      this.rejectDone(this.failure);
      return;
    }
    if (!this.listening) this.rejectReady(new PipelineError('PCS_SOURCE_OPEN', 'the capture stopped before it began'));
    this.resolveDone({
      frames: this.frames,
      bytes: this.bytes,
      batches: this.batches,
      linkType: this.reader.linkType,
      elapsedSec: (performance.now() - this.started) / 1000,
      kernel: this.kernel,
      messages: this.messages,
      truncated: this.truncated,
    });
  }

  private cleanup(): void {
    if (this.batchTimer !== null) clearTimeout(this.batchTimer);
    if (this.statsTimer !== null) clearTimeout(this.statsTimer);
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    for (const t of this.stopTimers) clearTimeout(t);
    this.batchTimer = this.statsTimer = this.pollTimer = null;
    process.removeListener('exit', this.killOnExit);
    this.o.signal?.removeEventListener('abort', this.onAbort);
  }
}

/**
 * Capture live from `options.interface` through tcpdump, handing batches of owned frames to
 * `options.onBatch` until stopped (signal, `shouldStop`, or `stop()`).
 *
 * Returns at once: a promise of the result that also carries `ready`, `stats()` and `stop()`.
 * Bad options throw `PipelineError('PCS_CONFIG')` synchronously; tcpdump's failures reject the
 * promise with a `LiveCaptureError` (see the module notes).
 *
 * @example
 * const ac = new AbortController();
 * process.once('SIGINT', () => ac.abort());
 * const cap = captureLive({
 *   interface: 'eth0',
 *   filter: 'not port 22',
 *   signal: ac.signal,
 *   onBatch: async (frames) => { await producer.send(frames); },
 * });
 * const heartbeat = setInterval(() => cap.stats().then((s) => console.error(s)), 10_000);
 * const r = await cap;
 * clearInterval(heartbeat);
 * console.error(`${r.frames} frames, ${r.kernel?.droppedByKernel ?? '?'} dropped by the kernel`);
 */
export function captureLive(options: LiveCaptureOptions): LiveCapture {
  const limits = checkOptions(options);
  const run = new TcpdumpRun(options, limits);
  if (options.signal?.aborted) run.stop();
  return Object.assign(run.done, {
    ready: run.readyPromise,
    stats: () => run.stats(),
    stop: () => run.stop(),
  });
}
