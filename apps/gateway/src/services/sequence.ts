/**
 * Orders the writes of rETL records and audience lists: microsecond-scale numbers from the clock,
 * strictly increasing within a process, so a later request always overrides an earlier one.
 */
export function createSequence(now: () => number = Date.now): () => number {
  let last = 0;
  return () => {
    last = Math.max(last + 1, now() * 1000);
    return last;
  };
}
