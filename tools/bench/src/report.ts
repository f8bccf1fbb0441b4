import type { BenchReport, Row } from './bench';

const fmt = (value: number | undefined, digits = 0) =>
  value === undefined ? '' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const mb = (bytes: number | undefined) => (bytes === undefined ? '' : `${Math.round(bytes / 1024 / 1024)} MB`);

/** The report as one plain-text table (also valid Markdown). */
export function renderTable(report: BenchReport): string {
  const header = ['scenario', 'req/s', 'events/s', 'p50 ms', 'p99 ms', 'peak RSS', 'baseline', 'ratio', 'goal', 'met'];
  const lines = report.rows.map((row: Row) => [
    `(${row.scenario}) ${row.target}`,
    fmt(row.requestsPerSecond),
    fmt(row.eventsPerSecond),
    fmt(row.p50Ms, 1),
    fmt(row.p99Ms, 1),
    mb(row.peakRssBytes),
    row.baseline,
    row.ratio.toFixed(2),
    row.goal,
    row.met ? 'yes' : 'NO',
  ]);
  const table = [header, header.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
  const notes = report.rows.filter((row) => row.notes).map((row) => `- (${row.scenario}) ${row.notes}`);
  return [table, ...(notes.length ? ['', ...notes] : [])].join('\n');
}
