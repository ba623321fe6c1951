/**
 * Messages from the decode worker to the consumer, on the port handed to the worker. Plain
 * data, copied by structured clone.
 */
import type { ContainerStats } from '../../core/source.ts';

/** A name interned by the record writer (an anomaly code or a tunnel kind). */
export interface WorkerName {
  kind: 'anomaly' | 'tunnel';
  id: number;
  name: string;
}

/** The worker's last message: how the read ended. */
export interface WorkerEnd {
  kind: 'end';
  /** Input display name. */
  name: string;
  size: number;
  bytesRead: number;
  frames: number;
  /** Container stats; null when the read failed. */
  stats: ContainerStats | null;
  /** The capture ended inside a record. */
  truncated: { message: string; offset: number; frames: number } | null;
  stoppedEarly: boolean;
  /** The read failed (input could not be opened, not a capture, read error). */
  error: { code: string | null; name: string; message: string; stack: string } | null;
}

/** Any message from the worker. */
export type WorkerMessage = WorkerName | WorkerEnd;
