/**
 * Helpers for the transport tests: unique topic names, text messages, and draining a consumer.
 */
import { randomBytes } from 'node:crypto';
import type { Consumer, ConsumerEvent, IncomingMessage } from '../../src/core/transport.ts';

/** A topic or group name no other test run uses. */
export function uniqueName(prefix: string, kind: string): string {
  return `${prefix}-${kind}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (m: IncomingMessage): string => new TextDecoder().decode(m.value);

/** Polls until `want` messages arrived (or `ms` passed); returns the messages and every event. */
export async function drain(
  c: Consumer,
  want: number,
  ms: number,
): Promise<{ got: IncomingMessage[]; events: ConsumerEvent[] }> {
  const got: IncomingMessage[] = [];
  const events: ConsumerEvent[] = [];
  const deadline = Date.now() + ms;
  while (got.length < want && Date.now() < deadline) {
    for (const e of await c.poll(200)) {
      events.push(e);
      if (e.kind === 'messages') got.push(...e.messages);
    }
  }
  return { got, events };
}
