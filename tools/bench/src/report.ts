import type { Cost, CostPart } from './cpu';
import type { BenchReport, Row } from './types';

const fmt = (value: number | undefined, digits = 0) =>
  value === undefined ? '' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const mb = (bytes: number | undefined) => (bytes === undefined ? '' : `${Math.round(bytes / 1024 / 1024)} MB`);
const markdown = (rows: string[][]) => [rows[0], rows[0].map(() => '---'), ...rows.slice(1)].map((cells) => `| ${cells.join(' | ')} |`).join('\n');

const PARTS: Array<[CostPart, string]> = [
  ['gateway', 'gateway'],
  ['baseline', 'node:http'],
  ['redis', 'Redis'],
  ['worker', 'events worker'],
  ['postgres', 'Postgres (all)'],
  ['postgresBench', 'Postgres (bench db)'],
];

/** CPU seconds per 10,000 events of each process group, Postgres's work per 10,000 events, and what the load generator took. */
function costTable(report: BenchReport): string | undefined {
  const measured: Array<[string, Cost]> = report.rows.flatMap((row): Array<[string, Cost]> => [
    ...(row.cost ? [[`(${row.scenario}) ${row.target}`, row.cost] as [string, Cost]] : []),
    ...(row.baselineCost ? [[`(${row.scenario}) its baseline: ${row.baseline}`, row.baselineCost] as [string, Cost]] : []),
  ]);
  if (measured.length === 0) return undefined;
  const header = [
    'window',
    'events',
    ...PARTS.map(([, name]) => `${name} CPU s / 10 k`),
    'commits / 10 k',
    'rows inserted / 10 k',
    'blocks read / hit per 10 k',
    'WAL MB / 10 k',
    'load generator CPU s / 10 k (cores)',
  ];
  const lines = measured.map(([label, cost]) => {
    const pg = cost.postgresPer10kEvents;
    const per10k = cost.cpuSecondsPer10kEvents;
    const generatorCores = cost.seconds > 0 ? (cost.cpuSeconds.loadGenerator ?? 0) / cost.seconds : 0;
    return [
      label,
      fmt(cost.events),
      ...PARTS.map(([part]) => fmt(per10k[part], 2)),
      fmt(pg?.commits, 1),
      fmt(pg?.tuplesInserted),
      pg ? `${fmt(pg.blocksRead)} / ${fmt(pg.blocksHit)}` : '',
      fmt(pg?.walMegabytes, 1),
      `${fmt(per10k.loadGenerator, 2)} (${fmt(generatorCores, 2)})`,
    ];
  });
  return markdown([header, ...lines]);
}

/** The report as plain-text tables (also valid Markdown): the figures against their baselines, then what each cost. */
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
    row.met === undefined ? '' : row.met ? 'yes' : 'NO',
  ]);
  const notes = report.rows.filter((row) => row.notes).map((row) => `- (${row.scenario}) ${row.notes}`);
  const costs = costTable(report);
  return [
    markdown([header, ...lines]),
    ...(notes.length ? ['', ...notes] : []),
    ...(costs ? ['', 'CPU and Postgres work per 10,000 events:', '', costs] : []),
  ].join('\n');
}
