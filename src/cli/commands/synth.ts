/**
 * `pcapstream synth`: write a deterministic capture and its ground truth.
 */

export interface SynthCliOptions {
  out: string;
  packets?: number;
  bytes?: number;
  seed: number;
  format: 'pcap' | 'pcapng';
}

export async function synthCommand(o: SynthCliOptions): Promise<number> {
  // Loaded on demand: the generator is not needed by the other commands.
  const { synthesize } = await import('../../synth/index.ts');
  const started = Date.now();
  const truth = await synthesize({
    out: o.out,
    packets: o.packets ?? (o.bytes === undefined ? 100_000 : undefined),
    bytes: o.bytes,
    seed: o.seed,
    format: o.format,
  });
  const secs = (Date.now() - started) / 1000;
  process.stderr.write(
    `pcapstream: wrote ${o.out} (${truth.packets.toLocaleString('en-US')} packets, ${truth.bytes.toLocaleString('en-US')} bytes on the wire) and ${o.out}.truth.json in ${secs.toFixed(1)} s\n`,
  );
  return 0;
}
