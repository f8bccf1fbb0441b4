import { InvalidArgumentError, Option, type Command } from 'commander';
import { EventPartitionsRepository, type EventPartition } from '@evt/db';
import { subscribeTail, type TailEvent } from '@evt/queue';
import { reads, yesOption } from '../options';
import { table } from '../render';
import { sourceIdOf, type CommandContext } from './context';

const UNIT_MS = { d: 86_400_000, h: 3_600_000 } as const;

/** `90d` or `36h`: a whole number of days or hours, above 0, in milliseconds (commander's parser of --older-than). */
export function parseAge(text: string): number {
  const match = /^(\d+)([dh])$/.exec(text);
  if (!match || Number(match[1]) === 0) throw new InvalidArgumentError('--older-than takes an age such as 90d or 36h (days or hours, above 0)');
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** A partition as a row of the text table: open ends shown as such, unknown estimates blank. */
const row = (partition: EventPartition) => ({
  name: partition.name,
  from: partition.isDefault ? '(default: rows no range covers)' : (partition.from ?? '(everything before)'),
  to: partition.isDefault ? '' : (partition.to ?? '(no end)'),
  rowsEstimate: partition.rowsEstimate ?? '(not analysed yet)',
});
const PARTITION_COLUMNS = ['name', 'from', 'to', 'rowsEstimate'];

const rowsOf = (partitions: EventPartition[]) => partitions.reduce((sum, partition) => sum + (partition.rowsEstimate ?? 0), 0);
const partitionsOf = (count: number) => `${count} partition${count === 1 ? '' : 's'}`;

/** One line of the compact tail: time, source, type, event or name, user, messageId. */
export function tailLine(event: TailEvent): string {
  const what = event.event ?? event.name ?? '-';
  const user = event.userId !== null ? `user:${event.userId}` : event.anonymousId !== null ? `anon:${event.anonymousId}` : '-';
  return [event.receivedAt, event.sourceId, event.type, JSON.stringify(what), user, event.messageId].join('  ');
}

/**
 * `events tail`: prints the events the workers store from now on, one line each (NDJSON with
 * --json), until SIGINT or SIGTERM. The workers publish only while someone tails.
 */
async function tail(ctx: CommandContext, options: { source?: string; type?: string }): Promise<void> {
  const sourceId = await sourceIdOf(ctx, options.source);
  ctx.services = ['Redis'];
  const subscription = await subscribeTail({
    redisUrl: ctx.settings.redisUrl,
    prefix: ctx.settings.queuePrefix,
    timeoutMs: ctx.connectTimeoutMs,
    onEvent: (event) => {
      if ((sourceId !== undefined && event.sourceId !== sourceId) || (options.type !== undefined && event.type !== options.type)) return;
      ctx.output.out(ctx.json ? JSON.stringify(event) : tailLine(event));
    },
  });
  // The subscription is live: a script can start sending now (stderr, so --json output stays NDJSON).
  ctx.output.err(`tailing events${sourceId ? ` of source ${sourceId}` : ''}${options.type ? ` of type ${options.type}` : ''}; Ctrl-C to stop`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await subscription.close();
}

/** `events partitions|prune|tail`. */
export function registerEvents(program: Command, ctx: CommandContext): void {
  const events = program.command('events').description('the stored events: their partitions, retention, and a live tail');

  reads(
    events
      .command('partitions')
      .description("the partitions of events: their ranges of receivedAt and Postgres's estimate of their rows")
      .action(async () => {
        const list = await new EventPartitionsRepository(ctx.db()).list();
        ctx.print(list, () => table(list.map(row), PARTITION_COLUMNS));
      }),
    'DATABASE_URL',
  );

  reads(
    events
      .command('prune')
      .description('drop the partitions of events whose range ended that long ago, whole, with their rows')
      .addOption(new Option('--older-than <age>', 'an age in days or hours: 90d, 36h').argParser(parseAge).makeOptionMandatory())
      .option('--dry-run', 'say what would be dropped, drop nothing')
      .addOption(yesOption())
      .action(async (options: { olderThan: number; dryRun?: boolean; yes?: boolean }) => {
        const before = new Date(Date.now() - options.olderThan);
        const partitions = new EventPartitionsRepository(ctx.db());
        const dryRun = options.dryRun === true;
        if (!dryRun) {
          const question = ctx.output.confirm && !options.yes ? await partitions.prune({ before, dryRun: true }) : undefined;
          if (question?.length === 0) return report(ctx, { dryRun, before, dropped: [] });
          await ctx.confirm(
            `Drop ${partitionsOf(question?.length ?? 0)} of events ending at or before ${before.toISOString()} (about ${rowsOf(question ?? [])} rows), for good?`,
            'events prune (drops partitions of events for good; --dry-run says which)',
            options.yes,
          );
        }
        report(ctx, { dryRun, before, dropped: await partitions.prune({ before, dryRun }) });
      }),
    'DATABASE_URL',
  );

  reads(
    events
      .command('tail')
      .description('print events as the workers store them (--json: one JSON object per line), until Ctrl-C')
      .option('--source <source>', 'of this source only (id or name)')
      .option('--type <type>', 'of this type only (track, identify, page, …)')
      .action((options: { source?: string; type?: string }) => tail(ctx, options)),
    'REDIS_URL (and DATABASE_URL with --source) and QUEUE_PREFIX',
  );
}

function report(ctx: CommandContext, result: { dryRun: boolean; before: Date; dropped: EventPartition[] }): void {
  const { dryRun, before, dropped } = result;
  const summary = `${dryRun ? 'would drop' : 'dropped'} ${partitionsOf(dropped.length)} of events ending at or before ${before.toISOString()} (about ${rowsOf(dropped)} rows)`;
  ctx.print({ dryRun, before: before.toISOString(), dropped }, () =>
    dropped.length === 0 ? summary : `${table(dropped.map(row), PARTITION_COLUMNS)}\n${summary}`,
  );
}
