/**
 * The dashboard page's files: a fixed whitelist from URL path to file, so no request path ever
 * reaches the file system (no traversal, no directory listing, no dot files).
 *
 * Files are read on first request and kept in memory: the page is small (D3 is the bulk, about
 * 280 KB) and the set never changes while the server runs.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One servable file. */
export interface StaticFile {
  /** Absolute file path. */
  file: string;
  contentType: string;
}

const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

/** D3's standalone browser bundle (UMD, defines `globalThis.d3`); the package only exports its ES entry, so go via that. */
function d3BundlePath(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.resolve('d3'))), 'd3.min.js');
}

const JS = 'text/javascript; charset=utf-8';

/**
 * URL path -> file. Everything the page loads, and nothing else.
 * @example
 * STATIC_FILES.get('/app.js')?.contentType; // 'text/javascript; charset=utf-8'
 */
export const STATIC_FILES: ReadonlyMap<string, StaticFile> = new Map([
  ['/', { file: path.join(STATIC_DIR, 'index.html'), contentType: 'text/html; charset=utf-8' }],
  ['/index.html', { file: path.join(STATIC_DIR, 'index.html'), contentType: 'text/html; charset=utf-8' }],
  ['/style.css', { file: path.join(STATIC_DIR, 'style.css'), contentType: 'text/css; charset=utf-8' }],
  ['/app.js', { file: path.join(STATIC_DIR, 'app.js'), contentType: JS }],
  ['/charts.js', { file: path.join(STATIC_DIR, 'charts.js'), contentType: JS }],
  ['/format.js', { file: path.join(STATIC_DIR, 'format.js'), contentType: JS }],
  ['/favicon.svg', { file: path.join(STATIC_DIR, 'favicon.svg'), contentType: 'image/svg+xml' }],
  ['/d3.min.js', { file: d3BundlePath(), contentType: JS }],
]);

/**
 * Reads whitelisted files once and serves them from memory.
 * @example
 * const cache = new StaticCache();
 * const hit = await cache.get('/'); // { body: Uint8Array, contentType: 'text/html; charset=utf-8' } or undefined
 */
export class StaticCache {
  private readonly loaded = new Map<string, Promise<Uint8Array>>();

  /** The file for `urlPath`, or undefined when it is not on the whitelist. */
  async get(urlPath: string): Promise<{ body: Uint8Array; contentType: string } | undefined> {
    const entry = STATIC_FILES.get(urlPath);
    if (entry === undefined) return undefined;
    let body = this.loaded.get(entry.file);
    if (body === undefined) {
      body = readFile(entry.file);
      // A failed read is not cached, so a file restored on disk is picked up by the next request.
      body.catch(() => this.loaded.delete(entry.file));
      this.loaded.set(entry.file, body);
    }
    return { body: await body, contentType: entry.contentType };
  }
}
