/** Messages between `FlowTextThread` and its worker. */
import type { CicMode } from '../../flow/cic-features.ts';

/** The worker's `workerData`. */
export interface FlowTextSetup {
  format: 'jsonl' | 'csv' | 'cic';
  /** CICIDS2017 label column (`cic` format). */
  label: string;
  /** Feature mode of the run: picks the CIC row's text rules. */
  mode: CicMode;
}

/** Main → worker: a batch of `count` packed records, or an output buffer written and free again. */
export interface FlowTextRequest {
  batch?: ArrayBuffer;
  count?: number;
  recycle?: ArrayBuffer;
}

/** Worker → main: the batch's text, and the batch's buffer back. */
export interface FlowTextReply {
  bytes: Uint8Array;
  batch: ArrayBuffer;
}
