/**
 * docs/store.md stays true: every table and column of the schema is documented with its type,
 * in order, the documented version is the current one, and every SQL example runs (through the
 * query guard) on a real store.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, describe, it } from 'node:test';
import { ReadModel } from '../../src/query/read-model.ts';
import { openDuckDBStore } from '../../src/sinks/db/duckdb-store.ts';
import { SCHEMA_VERSION, TABLES } from '../../src/sinks/db/schema.ts';
import { anomaly, flowRecord, metricWindow, tempStore } from '../helpers/store-records.ts';

const doc = fs.readFileSync(new URL('../../docs/store.md', import.meta.url), 'utf8');
const t = tempStore();
after(() => fs.rmSync(t.dir, { recursive: true, force: true }));

/** The `| column | type | meaning |` rows under `### \`name\``. */
function documentedColumns(table: string): [string, string][] {
  const start = doc.indexOf(`### \`${table}\`\n`);
  assert.ok(start >= 0, `docs/store.md has no section for ${table}`);
  const next = doc.indexOf('\n### ', start + 1);
  const section = doc.slice(start, next < 0 ? undefined : next);
  const rows: [string, string][] = [];
  for (const m of section.matchAll(/^\| `([a-z0-9_]+)` \| (.+?) \| /gm))
    rows.push([m[1]!, m[2]!.replaceAll('\\|', '|')]);
  return rows;
}

describe('docs/store.md', () => {
  it('documents every table and column with its type, in schema order', () => {
    for (const table of TABLES) {
      assert.deepEqual(
        documentedColumns(table.name),
        table.columns.map((c) => [c.name, c.type]),
        table.name,
      );
    }
  });

  it('names the current schema version', () => {
    assert.match(doc, new RegExp(`describes\\s+version \\*\\*${SCHEMA_VERSION}\\*\\*`));
  });

  it('has SQL examples that the query guard accepts and DuckDB runs', async () => {
    const store = await openDuckDBStore({ path: t.path, label: 'doc' });
    for (let id = 1; id <= 40; id++) store.addFlow(flowRecord(id));
    store.addFlow(flowRecord(41, 1, { partial: true }));
    for (let i = 0; i < 90; i++) store.addMetrics(metricWindow(i));
    store.addMetrics(metricWindow(0, 60));
    store.addAnomaly(anomaly(3, 'ipv4.checksum_invalid'));
    await store.close();
    const rm = await ReadModel.open(t.path);
    try {
      const examples = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
      assert.ok(examples.length >= 10, `found ${examples.length} examples`);
      for (const sql of examples) {
        const r = await rm.query(sql, { maxRows: 5 });
        assert.ok(r.rows.length > 0, `no rows from: ${sql}`);
      }
    } finally {
      await rm.close();
    }
  });
});
