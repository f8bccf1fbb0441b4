import { Option, type Command } from 'commander';
import { RejectedEventsRepository } from '@evt/db';
import { checkRedis } from '@evt/queue';
import { reads, wholeNumber, yesOption, limitOption } from '../options';
import { table } from '../render';
import { retryRejected, RetryInterruptedError, type RetrySummary } from './rejected-retry';
import { sourceIdOf, type CommandContext } from './context';

/** Per-row results are printed when a run examined at most this many rows; --json lists up to 1000. */
const MAX_ROWS_SHOWN = 20;
const PROGRESS_EVERY_MS = 1000;

interface RetryOptions {
  source?: string;
  limit?: number;
  after?: string;
  batchSize?: number;
  dryRun?: boolean;
  yes?: boolean;
}

const counts = (summary: RetrySummary) =>
  `examined ${summary.examined}, ${summary.rows.some((row) => row.result === 'would retry') ? 'would retry' : 'retried'} ${summary.retried}, still rejected ${summary.stillRejected}, skipped ${summary.skipped}`;

/** The summary as tables: the counts, the reasons rows stay for, and each row when there are few. */
function summaryText(summary: RetrySummary): string {
  const parts = [table([{ ...summary }], ['examined', 'retried', ['stillRejected', 'still rejected'], 'skipped'])];
  const reasons = Object.entries(summary.reasons).map(([reason, rows]) => ({ reason, rows }));
  if (reasons.length > 0) parts.push(table(reasons, ['reason', 'rows']));
  if (summary.examined > 0 && summary.examined <= MAX_ROWS_SHOWN) parts.push(table(summary.rows, ['id', 'result', 'reason']));
  if (summary.lastId !== undefined) parts.push(`last id: ${summary.lastId} (--after ${summary.lastId} goes on from there)`);
  return parts.join('\n\n');
}

/**
 * `rejected retry`: sends rejected events through the gateway's validation again and enqueues
 * those that pass now (retryRejected). Progress goes to stderr at most once a second on long runs.
 */
async function retry(ctx: CommandContext, ids: string[], options: RetryOptions): Promise<void> {
  const dryRun = options.dryRun === true;
  if (!dryRun && ids.length === 0 && options.source === undefined)
    await ctx.confirm('Retry the rejected events of every source?', 'rejected retry of every source (no ids, no --source)', options.yes);
  const sourceId = await sourceIdOf(ctx, options.source);
  if (!dryRun) {
    // Fails at once, saying why (refused, unknown host…), rather than after the first page as `queue unreachable`.
    ctx.services = ['Redis'];
    await checkRedis(ctx.settings.redisUrl, { readyTimeoutMs: ctx.connectTimeoutMs });
  }
  ctx.services = ['Postgres', 'Redis'];
  let lastProgress = Date.now();
  try {
    const summary = await retryRejected({
      db: ctx.db(),
      redisUrl: ctx.settings.redisUrl,
      queuePrefix: ctx.settings.queuePrefix,
      eventsQueueShards: ctx.settings.eventsQueueShards,
      maxEventSize: ctx.settings.maxEventSize,
      sourceId,
      ids,
      limit: options.limit,
      afterId: options.after,
      batchSize: options.batchSize,
      dryRun,
      onProgress: (progress) => {
        if (Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
        lastProgress = Date.now();
        ctx.output.err(counts(progress));
      },
    });
    ctx.print(summary, () => summaryText(summary));
  } catch (error) {
    if (!(error instanceof RetryInterruptedError)) throw error;
    // What was done is done: print it, then the one line saying where to resume.
    ctx.print(error.summary, () => summaryText(error.summary));
    throw new Error(error.message);
  }
}

/** `rejected list|retry`: what the gateway and the workers refused, and sending it through again. */
export function registerRejected(program: Command, ctx: CommandContext): void {
  const rejected = program.command('rejected').description('events that were refused, with their reasons; retrying them');

  reads(
    rejected
      .command('list')
      .description('what was refused, newest first')
      .option('--source <source>', 'of this source only (id or name)')
      .addOption(limitOption(50))
      .action(async (options: { source?: string; limit: number }) => {
        const rows = await new RejectedEventsRepository(ctx.db().db).list({ sourceId: await sourceIdOf(ctx, options.source), limit: options.limit });
        ctx.print(rows, () => table(rows, ['id', 'receivedAt', 'sourceId', 'messageId', 'reason', 'eventSize']));
      }),
    'DATABASE_URL',
  );

  reads(
    rejected
      .command('retry')
      .description('validate rejected events again and enqueue those that pass now (they keep their receivedAt); the rest stay with their reason')
      .argument('[ids...]', 'these rejections only')
      .option('--source <source>', 'of this source only (id or name)')
      .addOption(new Option('--limit <n>', 'examine at most this many rows (default: all)').argParser(wholeNumber('--limit')))
      .option('--after <id>', "start after this rejection id (a previous run's last id)")
      .addOption(new Option('--batch-size <n>', 'rows read per page, events per job at most (default: 500)').argParser(wholeNumber('--batch-size')))
      .option('--dry-run', 'say what would be retried, change nothing')
      .addOption(yesOption())
      .action((ids: string[], options: RetryOptions) => retry(ctx, ids, options)),
    'DATABASE_URL, REDIS_URL, QUEUE_PREFIX, EVENTS_QUEUE_SHARDS and MAX_EVENT_SIZE',
  );
}
