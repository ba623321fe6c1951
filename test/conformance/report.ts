/**
 * Print how pcapstream and tshark compare over the corpus: per-field agreement, packet counts,
 * and every difference not covered by the allow-list (or all of them with --all).
 *   node test/conformance/report.ts [--all] [file ...]
 */
import { allowedBy, compareCorpus, readAllowList, staleParts } from './oracle.ts';

const args = process.argv.slice(2);
const all = args.includes('--all');
const files = args.filter((a) => !a.startsWith('--'));
const cmp = await compareCorpus(files.length > 0 ? files : undefined);
const allow = readAllowList();
for (const [field, t] of [...cmp.tallies].sort()) {
  console.log(`${field.padEnd(18)} ${t.agreed}/${t.compared} ${((100 * t.agreed) / t.compared).toFixed(3)}%`);
}
for (const c of cmp.counts) {
  if (c.ours !== c.tshark || !c.tsharkOk || c.ourError)
    console.log(`COUNT ${c.file}: ours ${c.ours} tshark ${c.tshark} ok=${c.tsharkOk} ${c.ourError}`);
}
for (const d of cmp.differences) {
  if (!all && allowedBy(d, allow)) continue;
  console.log(`DIFF ${d.file} #${d.frame} ${d.field}: ours=${d.ours} tshark=${d.theirs}`);
}
if (files.length === 0) for (const s of staleParts(cmp.differences, allow)) console.log(`STALE ${s}`);
