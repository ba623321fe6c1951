/**
 * IPv6 text rules (RFC 5952) shared by the string formatter (`decode/format.ts`) and the JSON
 * byte writer (`core/json-writer.ts`), so both print the same address the same way.
 */

/**
 * The run of zero groups RFC 5952 shortens to `::` (the longest of two or more, the first on
 * ties), packed as `start << 4 | length`; -16 (start -1, length 0) when there is none.
 * @example
 * longestZeroRun([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]) // 2 << 4 | 4
 */
export function longestZeroRun(g: ArrayLike<number>): number {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  return (bestStart << 4) | bestLen;
}
