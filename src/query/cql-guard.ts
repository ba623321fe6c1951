/**
 * The read-only guard of `pcapstream cql`: one SELECT or DESCRIBE statement, nothing that
 * writes, changes schema or permissions. The guard reads the statement's tokens (strings,
 * quoted names and comments are skipped, not searched), so a keyword inside a string literal
 * is no reason to refuse and `;` inside one does not end the statement.
 */
import { PipelineError } from '../core/errors.ts';

/** Statements `cql` runs. */
const READ_KEYWORDS = new Set(['SELECT', 'DESCRIBE', 'DESC']);

/** Longest statement accepted. */
export const MAX_CQL_LENGTH = 100_000;

/**
 * The statement's words and punctuation outside literals and comments, upper-cased; throws
 * `PCS_QUERY_REFUSED` for an unterminated string or comment.
 */
function codeTokens(cql: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = cql.length;
  const refuse = (what: string): never => {
    throw new PipelineError('PCS_QUERY_REFUSED', `the statement has an unterminated ${what}`);
  };
  while (i < n) {
    const c = cql[i]!;
    if (c === "'" || c === '"') {
      // '' (or "") inside is an escaped quote.
      let j = i + 1;
      for (;;) {
        if (j >= n) refuse(c === "'" ? 'string' : 'quoted name');
        if (cql[j] === c) {
          if (cql[j + 1] === c) j += 2;
          else break;
        } else j++;
      }
      out.push(c === "'" ? "'…'" : '"…"');
      i = j + 1;
    } else if (c === '$' && cql[i + 1] === '$') {
      const end = cql.indexOf('$$', i + 2);
      if (end < 0) refuse('$$ string');
      out.push("'…'");
      i = end + 2;
    } else if ((c === '-' && cql[i + 1] === '-') || (c === '/' && cql[i + 1] === '/')) {
      const end = cql.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
    } else if (c === '/' && cql[i + 1] === '*') {
      const end = cql.indexOf('*/', i + 2);
      if (end < 0) refuse('comment');
      i = end + 2;
    } else if (/\s/.test(c)) {
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_]/.test(cql[j]!)) j++;
      out.push(cql.slice(i, j).toUpperCase());
      i = j;
    } else {
      out.push(c);
      i++;
    }
  }
  return out;
}

/**
 * Check that `cql` is one read-only statement and return it without a trailing `;`. Throws
 * `PCS_QUERY_REFUSED` with the reason otherwise.
 * @example
 * guardCql('SELECT * FROM flows LIMIT 5;'); // 'SELECT * FROM flows LIMIT 5'
 * guardCql("DELETE FROM flows WHERE sensor = 'a'"); // throws: DELETE writes
 */
export function guardCql(cql: string): string {
  if (cql.length > MAX_CQL_LENGTH) {
    throw new PipelineError('PCS_QUERY_REFUSED', `the statement is longer than ${MAX_CQL_LENGTH} characters`);
  }
  const tokens = codeTokens(cql);
  // One trailing semicolon is fine; one anywhere else starts a second statement.
  while (tokens.at(-1) === ';') tokens.pop();
  if (tokens.length === 0) throw new PipelineError('PCS_QUERY_REFUSED', 'the statement is empty');
  const first = tokens[0]!;
  if (!READ_KEYWORDS.has(first)) {
    throw new PipelineError(
      'PCS_QUERY_REFUSED',
      `cql is read-only: it runs SELECT and DESCRIBE statements; ${first} is refused (the pipeline writes the keyspace)`,
    );
  }
  if (tokens.includes(';')) {
    throw new PipelineError('PCS_QUERY_REFUSED', 'one statement at a time: remove everything after the first ;');
  }
  return cql.replace(/[\s;]+$/, '');
}
