import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPipelineError } from '../core/errors.ts';
import { guardCql } from './cql-guard.ts';

function refused(cql: string, reason: RegExp): void {
  assert.throws(
    () => guardCql(cql),
    (e: unknown) => isPipelineError(e) && e.code === 'PCS_QUERY_REFUSED' && reason.test(e.message),
    cql,
  );
}

test('SELECT and DESCRIBE pass, with one trailing semicolon removed', () => {
  assert.equal(guardCql('SELECT * FROM flows LIMIT 5;'), 'SELECT * FROM flows LIMIT 5');
  assert.equal(
    guardCql('  select count(*) from flows_by_host where host = ? '),
    '  select count(*) from flows_by_host where host = ?',
  );
  assert.equal(guardCql('DESCRIBE TABLES'), 'DESCRIBE TABLES');
  assert.equal(guardCql('desc keyspace pcapstream;\n'), 'desc keyspace pcapstream');
  assert.equal(guardCql('-- top\nSELECT 1 FROM meta'), '-- top\nSELECT 1 FROM meta');
});

test('keywords inside strings, quoted names and comments do not matter', () => {
  assert.ok(guardCql("SELECT * FROM alerts WHERE code = 'x; DROP TABLE flows' ALLOW FILTERING"));
  assert.ok(guardCql('SELECT "delete" FROM t'));
  assert.ok(guardCql("SELECT * FROM t WHERE a = 'it''s; fine'"));
  assert.ok(guardCql('/* INSERT */ SELECT * FROM t'));
  assert.ok(guardCql('SELECT * FROM t WHERE a = $$ ; $$'));
});

test('statements that write, change schema or permissions are refused by name', () => {
  for (const [cql, word] of [
    ["INSERT INTO flows (sensor) VALUES ('a')", 'INSERT'],
    ['UPDATE meta SET value = 1 WHERE key = 2', 'UPDATE'],
    ["DELETE FROM flows WHERE sensor = 'a'", 'DELETE'],
    ['TRUNCATE flows', 'TRUNCATE'],
    ['DROP KEYSPACE pcapstream', 'DROP'],
    ['CREATE TABLE x (a int PRIMARY KEY)', 'CREATE'],
    ['ALTER TABLE flows ADD x int', 'ALTER'],
    ['BEGIN BATCH INSERT INTO t (a) VALUES (1); APPLY BATCH', 'BEGIN'],
    ['GRANT SELECT ON ALL KEYSPACES TO bob', 'GRANT'],
    ['USE system', 'USE'],
    ['/* SELECT */ DELETE FROM t WHERE a = 1', 'DELETE'],
  ] as const) {
    refused(cql, new RegExp(`read-only.*${word} is refused`));
  }
});

test('a second statement, an empty one and unterminated literals are refused', () => {
  refused('SELECT * FROM t; DELETE FROM t WHERE a = 1', /one statement at a time/);
  refused('SELECT 1;;SELECT 2', /one statement at a time/);
  refused(' ; ', /empty/);
  refused('-- only a comment', /empty/);
  refused("SELECT * FROM t WHERE a = 'open", /unterminated string/);
  refused('SELECT "open FROM t', /unterminated quoted name/);
  refused('SELECT /* open', /unterminated comment/);
  refused(`SELECT '${'x'.repeat(100_001)}'`, /longer than/);
});
