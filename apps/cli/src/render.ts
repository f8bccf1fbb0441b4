import Table from 'cli-table3';

/** The longest a cell of a table gets; longer values end in `…` (--json prints them whole). */
export const MAX_CELL = 60;

/** `text` cut to `max` characters, the cut marked with `…`. */
export function truncate(text: string, max = MAX_CELL): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A write key as lists show it: its first and last 4 characters (`abcd…wxyz`), enough to tell keys apart. */
export function maskSecret(secret: string): string {
  return secret.length <= 12 ? '…' : `${secret.slice(0, 4)}…${secret.slice(-4)}`;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return truncate(text.replace(/\s*\n\s*/g, ' '));
}

// No borders, two spaces between columns: readable, and easy to cut with awk.
const BORDERLESS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

/**
 * A table with a header row and a row per item (any object): `columns` are keys of the rows, or
 * `[key, header]`. `(none)` when there are no rows.
 */
export function table(rows: readonly object[], columns: ReadonlyArray<string | readonly [string, string]>): string {
  if (rows.length === 0) return '(none)';
  const keys = columns.map((column) => (typeof column === 'string' ? column : column[0]));
  const output = new Table({
    head: columns.map((column) => (typeof column === 'string' ? column : column[1])),
    chars: BORDERLESS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
  });
  for (const row of rows) output.push(keys.map((key) => cell((row as Record<string, unknown>)[key])));
  return output
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}
