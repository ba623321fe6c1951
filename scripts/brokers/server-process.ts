/**
 * Shared plumbing for the servers that tests and developers start locally (Kafka, Cassandra,
 * Redis, RabbitMQ): free loopback ports, readiness waits, the child-process lifetime
 * (`ChildServer`), and the state file the CLI keeps under `.cache/brokers/<name>/`.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/**
 * Repository root (this file lives in `scripts/brokers/`).
 * @example
 * const cache = join(REPO_ROOT, '.cache');
 */
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * The `java` to run the JVM servers with: `$JAVA_HOME/bin/java` when set, else the one on PATH.
 * @example
 * spawn(javaBin(), ['-cp', 'lib/*', 'kafka.Kafka', 'server.properties']);
 */
export function javaBin(): string {
  const home = process.env.JAVA_HOME;
  return home !== undefined && home !== '' ? join(home, 'bin', 'java') : 'java';
}

/**
 * A TCP port free on 127.0.0.1 right now (the OS picks it). Another process may take it before
 * the server binds, so callers retry the start with a new port when that happens.
 * @example
 * const port = await freePort();
 */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

/**
 * Polls `check` until it returns true; rejects after `timeoutMs`, or as soon as `child` exits
 * (a server that died will never become ready, so there is no point waiting the full time).
 * @example
 * await waitUntil(() => pingRedis(6379), 20_000, 'redis on 6379', child);
 */
export async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  child?: ChildProcess | null,
  output?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child != null && child.exitCode !== null) {
      throw new Error(`${what} exited with code ${child.exitCode} before it was ready\n${output?.() ?? ''}`);
    }
    if (child != null && child.signalCode !== null) {
      throw new Error(`${what} was killed by ${child.signalCode} before it was ready\n${output?.() ?? ''}`);
    }
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms\n${output?.() ?? ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Resolves when the child has exited (at once if it already has).
 * @example
 * child.kill('SIGTERM'); await exited(child);
 */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/**
 * Waits up to `ms` for the child to exit; returns false if it is still running.
 * @example
 * if (!(await exitedWithin(child, 10_000))) child.kill('SIGKILL');
 */
export async function exitedWithin(child: ChildProcess, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  const done = await Promise.race([exited(child).then(() => true as const), timeout]);
  clearTimeout(timer);
  return done;
}

/**
 * Ends a server child: SIGTERM (its graceful shutdown), then `hardKill` if it is still running
 * after `graceMs`. Resolves once it exited or 5 s after the hard kill. A child already gone is left.
 * @example
 * await stopChild(child, 30_000);
 */
export async function stopChild(
  child: ChildProcess,
  graceMs: number,
  hardKill: () => void = () => child.kill('SIGKILL'),
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (await exitedWithin(child, graceMs)) return;
  hardKill();
  await exitedWithin(child, 5000);
}

/**
 * Starts a server again right after stopping it, retrying `launch` (after `kill`) a few times:
 * the OS may still hold the ports the same program just released.
 * @example
 * await this.stop(); await relaunch(() => this.launch(), () => this.kill(), 3, 500);
 */
export async function relaunch(
  launch: () => Promise<void>,
  kill: () => Promise<void>,
  retries: number,
  delayMs: number,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await launch();
      return;
    } catch (err) {
      await kill();
      if (attempt >= retries) throw err;
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

/**
 * Keeps the last `max` characters a child wrote, for error messages when it fails to start.
 * @example
 * const tail = keepTail(child, 8000); ... throw new Error(tail());
 */
export function keepTail(child: ChildProcess, max = 8000): () => string {
  let text = '';
  const add = (chunk: Buffer): void => {
    text = (text + chunk.toString('utf8')).slice(-max);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => text;
}

/** Live children started for tests; killed if this process exits without stopping them. */
const live = new Set<() => void>();
let hooked = false;

/**
 * Registers a synchronous last-resort kill for a child the current process owns, so a test run
 * that dies without its `after()` hooks leaves no broker behind. Returns the unregister function.
 * @example
 * const forget = killOnExit(() => child.kill('SIGKILL'));
 */
export function killOnExit(kill: () => void): () => void {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const k of live) {
        try {
          k();
        } catch {
          // Already gone.
        }
      }
    });
  }
  live.add(kill);
  return () => live.delete(kill);
}

/** How a `ChildServer` stops and starts again. */
export interface ChildServerTiming {
  /** How long a graceful stop (SIGTERM) may take before the hard kill. */
  stopGraceMs: number;
  /** Starts tried again after a restart's first fails (the OS may still hold the ports), and the pause between. */
  relaunchRetries: number;
  relaunchDelayMs: number;
}

/**
 * The lifetime every local server shares: one child process, which the subclass's `launch()`
 * starts and waits for (setting `child`, and `forget` when it registered `killOnExit`); then a
 * graceful stop, a crash, a restart on the same ports and data, and a cleanup that removes the
 * directory `start` made. A subclass whose server spans a process group overrides `hardKill`.
 * @example
 * class EchoServer extends ChildServer {
 *   protected async launch(): Promise<void> { this.child = spawn('echo-server'); await ready(); }
 * }
 */
export abstract class ChildServer {
  /** The running server process, or null. */
  protected child: ChildProcess | null = null;
  /** Unregisters the exit hook `launch()` set up. */
  protected forget: () => void = () => {};
  private readonly home: string;
  private readonly ownsHome: boolean;
  private readonly timing: ChildServerTiming;

  /** `home`: the server's directory, removed by `cleanup()` when `ownsHome`. */
  protected constructor(home: string, ownsHome: boolean, timing: ChildServerTiming) {
    this.home = home;
    this.ownsHome = ownsHome;
    this.timing = timing;
  }

  /** Process id of the running server, or 0. */
  get pid(): number {
    return this.child?.pid ?? 0;
  }

  /** Starts the server process and resolves once it is ready. */
  protected abstract launch(): Promise<void>;

  /**
   * Takes `child` as the running server and waits until `ready()` answers. Rejects if it cannot
   * spawn, exits first or is not ready within `timeoutMs`, with `output()` in the message. A
   * `detached` child outlives this process (the CLIs' background start); any other gets the hard
   * kill if this process exits first.
   */
  protected async adopt(
    child: ChildProcess,
    detached: boolean,
    ready: () => Promise<boolean>,
    what: string,
    timeoutMs: number,
    output: () => string,
  ): Promise<void> {
    this.child = child;
    const spawnError = new Promise<never>((_, fail) => child.once('error', fail));
    spawnError.catch(() => {});
    if (detached) child.unref();
    else this.forget = killOnExit(() => this.hardKill(child));
    await Promise.race([spawnError, waitUntil(ready, timeoutMs, what, child, output)]);
  }

  /** The hard kill: SIGKILL to the child. */
  protected hardKill(child: ChildProcess): void {
    child.kill('SIGKILL');
  }

  /** Graceful stop (SIGTERM: the server's own shutdown), the hard kill past the grace time. Data stays. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    await stopChild(child, this.timing.stopGraceMs, () => this.hardKill(child));
    this.child = null;
    this.forget();
  }

  /** Crash: the hard kill at once, nothing flushed (the next start recovers). */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    try {
      this.hardKill(child);
    } catch {
      // Already gone.
    }
    await exitedWithin(child, 5000);
    this.child = null;
    this.forget();
  }

  /** Stops the server if it runs (call `kill()` first for a crash), then starts it again on the same ports and data. */
  async restart(): Promise<void> {
    await this.stop();
    const t = this.timing;
    await relaunch(
      () => this.launch(),
      () => this.kill(),
      t.relaunchRetries,
      t.relaunchDelayMs,
    );
  }

  /** Stops the server and removes its directory if `start` created it. */
  async cleanup(): Promise<void> {
    await this.stop();
    this.afterStop();
    if (this.ownsHome) rmSync(this.home, { recursive: true, force: true });
  }

  /** What else `cleanup()` ends once the server is stopped (nothing by default). */
  protected afterStop(): void {}
}

/**
 * State the CLI keeps about a server it started in the background.
 * @example
 * const s: ServerState = { pid: 1234, port: 6379, dir: '.cache/brokers/redis/data' };
 */
export interface ServerState {
  pid: number;
  port: number;
  dir: string;
  /** Anything else the server needs to stop itself (node name, epmd port...). */
  extra?: Record<string, string | number>;
}

/**
 * `.cache/brokers/<name>` in the repository.
 * @example
 * const dataDir = join(stateDir('redis'), 'data');
 */
export function stateDir(name: string): string {
  return join(REPO_ROOT, '.cache', 'brokers', name);
}

/**
 * Reads the CLI state of a server, or null if none was saved.
 * @example
 * const s = readState('redis');
 */
export function readState(name: string): ServerState | null {
  try {
    return JSON.parse(readFileSync(join(stateDir(name), 'state.json'), 'utf8')) as ServerState;
  } catch {
    return null;
  }
}

/**
 * Saves (or, with null, removes) the CLI state of a server.
 * @example
 * writeState('redis', { pid, port, dir });
 */
export function writeState(name: string, state: ServerState | null): void {
  const file = join(stateDir(name), 'state.json');
  if (state === null) {
    rmSync(file, { force: true });
    return;
  }
  mkdirSync(stateDir(name), { recursive: true });
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`);
}

/**
 * True while a process with this id exists.
 * @example
 * if (!pidAlive(state.pid)) writeState('redis', null);
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits until the process is gone, up to `ms`; returns whether it is.
 * @example
 * process.kill(pid, 'SIGTERM'); await pidGone(pid, 10_000);
 */
export async function pidGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (pidAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/**
 * The value after `name` in a broker CLI's arguments.
 * @example
 * cliFlag(['--data-dir', 'd'], '--data-dir'); // 'd'
 */
export function cliFlag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/**
 * A port number given after `name`, or `fallback`.
 * @example
 * cliPort(['--port', '9042'], '--port', 7000); // 9042
 */
export function cliPort(argv: string[], name: string, fallback: number): number {
  const v = cliFlag(argv, name);
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name} must be a port number, got '${v}'`);
  return n;
}

/**
 * The CLIs' `stop`: SIGTERM to the server `name` started in the background, SIGKILL (to its
 * process group when `group`) if it is still running after `graceMs`; the state file is cleared.
 * Returns the state it found (null if nothing ran), for what else the caller stops.
 * @example
 * await stopStarted('redis', 15_000);
 */
export async function stopStarted(name: string, graceMs: number, group = false): Promise<ServerState | null> {
  const state = readState(name);
  if (state === null || !pidAlive(state.pid)) {
    writeState(name, null);
    console.log(`${name} not running`);
    return null;
  }
  process.kill(state.pid, 'SIGTERM');
  if (!(await pidGone(state.pid, graceMs))) process.kill(group ? -state.pid : state.pid, 'SIGKILL');
  writeState(name, null);
  console.log(`${name} stopped (data kept in ${state.dir})`);
  return state;
}

/**
 * Runs a server script's CLI when the file is the program: errors as one line, exit code 1.
 * @example
 * if (import.meta.main) runCli(cli);
 */
export function runCli(cli: (argv: string[]) => Promise<void>): void {
  cli(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
