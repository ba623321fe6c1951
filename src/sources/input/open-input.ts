/**
 * Byte inputs: a file path, or `-` for stdin. Gzip-compressed captures are recognised by their
 * magic bytes and inflated on the fly, whatever the file is called.
 *
 * Plain files are read with `readSync` into one reused buffer: the parser copies what it keeps,
 * so the buffer can be refilled as soon as `push` returns. Streams (stdin, gunzip) yield their
 * own chunks. Either way memory stays at one chunk plus one partial record.
 */

import { once } from 'node:events';
import fs from 'node:fs';
import { createGunzip, constants as zlibConstants } from 'node:zlib';
import { PipelineError } from '../../core/errors.ts';

/** Chunk size for plain files: large enough to amortise syscalls, small enough to stay in cache. */
export const FILE_CHUNK_BYTES = 4 * 1024 * 1024;
const GZIP_MAGIC0 = 0x1f;
const GZIP_MAGIC1 = 0x8b;

export interface ByteInput {
  /** Display name: the path, or 'stdin'. */
  readonly name: string;
  /** Total bytes when known (regular files), for progress; -1 otherwise. */
  readonly size: number;
  /** Raw bytes consumed so far (compressed bytes for gzip input), for progress. */
  bytesRead(): number;
  readonly gzip: boolean;
  chunks(): AsyncIterable<Uint8Array>;
  close(): void;
}

function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === GZIP_MAGIC0 && b[1] === GZIP_MAGIC1;
}

function openError(path: string, err: unknown): PipelineError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'is a directory'
          : ((err as Error).message ?? String(err));
  return new PipelineError('PCS_SOURCE_OPEN', `cannot open ${path}: ${why}`, { cause: err });
}

/** A gzip stream that ends early or is corrupt: what was inflated before the damage was delivered. */
export class GzipDamagedError extends PipelineError {
  constructor(message: string, cause: unknown) {
    super('PCS_SOURCE_TRUNCATED', message, { cause });
    this.name = 'GzipDamagedError';
  }
}

/** Inflated chunks the reader may hold before inflating pauses (back-pressure). */
const GUNZIP_QUEUE_CHUNKS = 4;

/**
 * Inflate a gzip stream of chunks. Every byte that inflates is yielded before a damaged or cut
 * stream's `GzipDamagedError`: the input is flushed before it is ended (zlib reports a missing
 * end only at the end), and chunks are queued here because a stream's own async iterator drops
 * what it buffered when the stream fails.
 */
async function* gunzip(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const z = createGunzip();
  const queue: Uint8Array[] = [];
  let zlibError: Error | null = null;
  let sourceError: unknown = null;
  let done = false;
  let notify: (() => void) | null = null;
  const wake = (): void => {
    const n = notify;
    notify = null;
    n?.();
  };
  z.on('data', (c: Uint8Array) => {
    queue.push(c);
    if (queue.length >= GUNZIP_QUEUE_CHUNKS) z.pause();
    wake();
  });
  z.on('end', () => {
    done = true;
    wake();
  });
  z.on('error', (err: Error) => {
    zlibError ??= err;
    done = true;
    wake();
  });
  const feed = async (): Promise<void> => {
    try {
      for await (const c of source) {
        if (done) return;
        // A copy: zlib may still hold a chunk after write() returns, and a file's read buffer is reused.
        if (!z.write(c.slice())) await once(z, 'drain');
      }
      z.flush(zlibConstants.Z_SYNC_FLUSH, () => z.end());
    } catch (err) {
      // A read error of the file, or zlib's own error (already recorded) ending the wait.
      if (zlibError === null) sourceError = err;
      done = true;
      wake();
    }
  };
  void feed();
  try {
    while (true) {
      const c = queue.shift();
      if (c !== undefined) {
        if (queue.length === 0 && !done) z.resume();
        yield c;
        continue;
      }
      if (done) break;
      await new Promise<void>((resolve) => {
        notify = resolve;
      });
    }
  } finally {
    z.destroy();
  }
  if (sourceError !== null) throw sourceError;
  if (zlibError !== null) {
    throw new GzipDamagedError(`gzip stream damaged: ${(zlibError as Error).message}`, zlibError);
  }
}

/** Put back a chunk that was read to sniff the format. */
async function* prepend(first: Uint8Array, rest: AsyncIterator<Uint8Array>): AsyncIterable<Uint8Array> {
  yield first;
  while (true) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}

function openFile(path: string): ByteInput {
  let fd: number;
  let size: number;
  try {
    fd = fs.openSync(path, 'r');
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) {
      fs.closeSync(fd);
      throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    }
    size = st.isFile() ? st.size : -1;
  } catch (err) {
    throw openError(path, err);
  }
  const head = new Uint8Array(2);
  let headLen = 0;
  try {
    headLen = fs.readSync(fd, head, 0, 2, null);
  } catch (err) {
    fs.closeSync(fd);
    throw openError(path, err);
  }
  let read = headLen;
  let closed = false;
  const close = (): void => {
    if (!closed) {
      closed = true;
      fs.closeSync(fd);
    }
  };
  const gz = headLen === 2 && isGzip(head);
  async function* raw(): AsyncIterable<Uint8Array> {
    if (headLen > 0) yield head.slice(0, headLen);
    const buf = new Uint8Array(FILE_CHUNK_BYTES);
    while (!closed) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        throw new PipelineError('PCS_SOURCE_READ', `read error on ${path}: ${(err as Error).message}`, { cause: err });
      }
      if (n === 0) return;
      read += n;
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  }
  return {
    name: path,
    size,
    gzip: gz,
    bytesRead: () => read,
    chunks: () => (gz ? gunzip(raw()) : raw()),
    close,
  };
}

function openStdin(): ByteInput {
  let read = 0;
  let gz = false;
  const stdin = process.stdin;
  async function* raw(): AsyncIterable<Uint8Array> {
    for await (const chunk of stdin) {
      read += (chunk as Uint8Array).length;
      yield chunk as Uint8Array;
    }
  }
  async function* sniffed(): AsyncIterable<Uint8Array> {
    const it = raw()[Symbol.asyncIterator]();
    const first = await it.next();
    if (first.done) return;
    gz = isGzip(first.value);
    const all = prepend(first.value, it);
    yield* gz ? gunzip(all) : all;
  }
  return {
    name: 'stdin',
    size: -1,
    get gzip() {
      return gz;
    },
    bytesRead: () => read,
    chunks: sniffed,
    close: () => stdin.destroy(),
  };
}

/**
 * Open a capture's bytes.
 * @example
 * const input = openInput('trace.pcap.gz');
 * for await (const chunk of input.chunks()) parser.push(chunk);
 */
export function openInput(path: string): ByteInput {
  return path === '-' ? openStdin() : openFile(path);
}
