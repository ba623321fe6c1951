/**
 * Write docs/fields.md from the field table in src/decode/fields.ts.
 *   node scripts/gen-fields-doc.ts          # rewrite the file
 *   node scripts/gen-fields-doc.ts --check  # exit 1 if it is out of date
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ANOMALIES } from '../src/core/anomalies.ts';
import { LAYER_NAMES } from '../src/core/layers.ts';
import { buildFields } from '../src/decode/fields.ts';

const target = fileURLToPath(new URL('../docs/fields.md', import.meta.url));

function layersOf(mask: number): string {
  if (mask === 0) return 'any';
  const names: string[] = [];
  for (let i = 0; i < LAYER_NAMES.length; i++) if (mask & (1 << i)) names.push(LAYER_NAMES[i]!);
  return names.join(', ');
}

export function renderFieldsDoc(): string {
  const lines = [
    '# Packet record fields',
    '',
    '<!-- generated from src/decode/fields.ts by `node scripts/gen-fields-doc.ts`; do not edit -->',
    '',
    'Every decoded packet becomes one flat record (`pcapstream decode`). A field appears only when',
    'the packet has the layer it belongs to (column *present with*) and a value for it; absent',
    'fields are left out of JSON and empty in CSV. Names follow Hurence Logisland where it defines',
    "one. Numbers are JSON numbers; `timestamp` is written with every digit of the capture's",
    'resolution: 6 decimals for microsecond pcap, 9 for nanosecond pcap; for pcapng, as many as the',
    "interface's `if_tsresol` gives (3 for milliseconds; 4 for 2^-10 s, 7 for 2^-20 s; at most 9).",
    'After a tunnel the innermost packet fills the main fields and the outermost tunnel is kept in',
    '`tunnel_*`.',
    '',
    '| field | type | present with | tshark equivalent | meaning |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const f of buildFields()) {
    lines.push(
      `| \`${f.name}\` | ${f.kind} | ${layersOf(f.layers)} | ${f.tshark ? `\`${f.tshark}\`` : '—'} | ${f.doc} |`,
    );
  }
  lines.push('', '## Anomaly codes', '', 'Recorded in `anomalies` and counted by `pcapstream stats`.', '');
  lines.push('| code | meaning |', '| --- | --- |');
  for (const a of ANOMALIES) lines.push(`| \`${a.code}\` | ${a.description}${a.retired ? ' (retired)' : ''} |`);
  return lines.join('\n') + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = renderFieldsDoc();
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
    if (current !== text) {
      process.stderr.write('docs/fields.md is out of date: run node scripts/gen-fields-doc.ts\n');
      process.exit(1);
    }
  } else fs.writeFileSync(target, text);
}
