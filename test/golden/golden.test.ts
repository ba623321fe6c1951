/**
 * Golden cases: decode output must match the stored records exactly. After an intended change,
 * regenerate with `npm run golden:update` and review the diff.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { CASES, expectedPath, HEADER, render } from './cases.ts';

describe('golden decode output', () => {
  for (const c of CASES) {
    it(`${c.name} (${c.capture})`, async () => {
      const text = fs.readFileSync(expectedPath(c), 'utf8');
      const [header, ...expected] = text.trimEnd().split('\n');
      assert.equal(header, HEADER);
      assert.ok(expected.length > 0);
      const actual = await render(c);
      assert.deepEqual(actual, expected);
    });
  }
});
