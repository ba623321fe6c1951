/**
 * The Cassandra driver (4.x) can leave a timer behind after `shutdown()` (a connection's
 * heartbeat, or a reconnect loop, after the node restarted under it), seen about one run in
 * three of the store tests. Once every test of a file has run, such a handle must not keep the
 * file's process, and with it the whole test run, alive. The timer is unref'd: a file whose
 * process exits by itself is not affected.
 */
import { after } from 'node:test';

/**
 * @example
 * exitDespiteLeakedHandles(); // at the top level of a test file
 */
export function exitDespiteLeakedHandles(graceMs = 3000): void {
  after(() => {
    // process.exit() keeps process.exitCode, which the test runner sets on failures.
    setTimeout(() => process.exit(), graceMs).unref();
  });
}
