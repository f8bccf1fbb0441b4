import { EventPartitionsRepository, type EventPartition } from '@evt/db';
import { table, UsageError } from '../output';
import type { CommandContext } from './context';

const UNIT_MS = { d: 86_400_000, h: 3_600_000 } as const;

/** `90d` or `36h`: a whole number of days or hours, above 0, in milliseconds. */
export function parseAge(text: string | undefined): number {
  const match = /^(\d+)([dh])$/.exec(text ?? '');
  if (!match || Number(match[1]) === 0) throw new UsageError('--older-than takes an age such as 90d or 36h (days or hours, above 0)');
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** A partition as a row of the text table: open ends shown as such, unknown estimates blank. */
const row = (partition: EventPartition) => ({
  name: partition.name,
  from: partition.isDefault ? '(default: rows no range covers)' : (partition.from ?? '(everything before)'),
  to: partition.isDefault ? '' : (partition.to ?? '(no end)'),
  rowsEstimate: partition.rowsEstimate ?? '(not analysed yet)',
});

const rowsOf = (partitions: EventPartition[]) => partitions.reduce((sum, partition) => sum + (partition.rowsEstimate ?? 0), 0);

/**
 * `events partitions`: the partitions of events with their ranges and Postgres's row estimates.
 * `events prune --older-than 90d [--dry-run]`: drops the partitions whose range ends at least that
 * long ago, whole (no DELETE, no bloat), and says which, with their ranges and estimated rows.
 */
export async function eventsCommand(action: string | undefined, ctx: CommandContext): Promise<void> {
  const partitions = new EventPartitionsRepository(ctx.db());
  if (action === 'partitions') {
    const list = await partitions.list();
    ctx.output.out(ctx.flags.json ? JSON.stringify(list) : table(list.map(row), ['name', 'from', 'to', 'rowsEstimate']));
    return;
  }
  if (action !== 'prune') throw new UsageError(`unknown action "${action ?? ''}" for events: use partitions or prune`);
  const before = new Date(Date.now() - parseAge(ctx.flags['older-than'] as string | undefined));
  const dryRun = ctx.flags['dry-run'] === true;
  const dropped = await partitions.prune({ before, dryRun });
  if (ctx.flags.json) {
    ctx.output.out(JSON.stringify({ dryRun, before: before.toISOString(), dropped }));
    return;
  }
  const verb = dryRun ? 'would drop' : 'dropped';
  const summary = `${verb} ${dropped.length} partition${dropped.length === 1 ? '' : 's'} of events ending at or before ${before.toISOString()} (about ${rowsOf(dropped)} rows)`;
  ctx.output.out(dropped.length === 0 ? summary : `${table(dropped.map(row), ['name', 'from', 'to', 'rowsEstimate'])}\n${summary}`);
}
