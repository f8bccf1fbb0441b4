import { EventPartitionsRepository, type EventPartition } from '@evt/db';
import { subscribeTail, type TailEvent } from '@evt/queue';
import { table, UsageError } from '../output';
import { sourceIdFlag, type CommandContext } from './context';

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

/** One line of the compact tail: time, source, type, event or name, user, messageId. */
export function tailLine(event: TailEvent): string {
  const what = event.event ?? event.name ?? '-';
  const user = event.userId !== null ? `user:${event.userId}` : event.anonymousId !== null ? `anon:${event.anonymousId}` : '-';
  return [event.receivedAt, event.sourceId, event.type, JSON.stringify(what), user, event.messageId].join('  ');
}

/**
 * `events tail [--source S] [--type T]`: prints the events the workers store from now on, one line
 * each (NDJSON with --json), until SIGINT or SIGTERM. The workers publish only while someone tails.
 */
async function tail(ctx: CommandContext): Promise<void> {
  const sourceId = await sourceIdFlag(ctx);
  const type = ctx.flags.type as string | undefined;
  const subscription = await subscribeTail({
    redisUrl: ctx.config.redisUrl,
    prefix: ctx.config.queuePrefix,
    onEvent: (event) => {
      if ((sourceId !== undefined && event.sourceId !== sourceId) || (type !== undefined && event.type !== type)) return;
      ctx.output.out(ctx.flags.json ? JSON.stringify(event) : tailLine(event));
    },
  }).catch((error: Error) => {
    throw new Error(`cannot reach Redis to tail events: ${error.message}`);
  });
  // The subscription is live: a script can start sending now (stderr, so --json output stays NDJSON).
  ctx.output.err(`tailing events${sourceId ? ` of source ${sourceId}` : ''}${type ? ` of type ${type}` : ''}; Ctrl-C to stop`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await subscription.close();
}

/**
 * `events partitions`: the partitions of events with their ranges and Postgres's row estimates.
 * `events prune --older-than 90d [--dry-run]`: drops the partitions whose range ends at least that
 * long ago, whole (no DELETE, no bloat), and says which, with their ranges and estimated rows.
 */
export async function eventsCommand(action: string | undefined, ctx: CommandContext): Promise<void> {
  if (action === 'tail') return tail(ctx);
  const partitions = new EventPartitionsRepository(ctx.db());
  if (action === 'partitions') {
    const list = await partitions.list();
    ctx.output.out(ctx.flags.json ? JSON.stringify(list) : table(list.map(row), ['name', 'from', 'to', 'rowsEstimate']));
    return;
  }
  if (action !== 'prune') throw new UsageError(`unknown action "${action ?? ''}" for events: use partitions, prune or tail`);
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
