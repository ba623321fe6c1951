/** Regenerate every golden case's expected.ndjson and NOTE.md (`npm run golden:update`). */
import fs from 'node:fs';
import path from 'node:path';
import { CASES, expectedPath, GOLDEN_DIR, HEADER, render } from './cases.ts';

for (const c of CASES) {
  const lines = await render(c);
  fs.mkdirSync(path.join(GOLDEN_DIR, c.name), { recursive: true });
  fs.writeFileSync(expectedPath(c), [HEADER, ...lines].join('\n') + '\n');
  fs.writeFileSync(path.join(GOLDEN_DIR, c.name, 'NOTE.md'), `# ${c.name}\n\nCapture: \`${c.capture}\`. ${c.note}.\n`);
  process.stdout.write(`${c.name}: ${lines.length} records\n`);
}
