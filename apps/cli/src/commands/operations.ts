import { migrate } from '@evt/db';
import { allQueueShards, discardFailedJobs, listFailedJobs, queueLayout, readQueueDepths, retryFailedJobs, type FailedJobsFilter } from '@evt/queue';
import { QUEUE_NAMES } from '@evt/schemas';
import { table, UsageError } from '../output';
import { limitOf, type CommandContext } from './context';

export async function dbCommand(action: string | undefined, ctx: CommandContext): Promise<void> {
  if (action !== 'migrate') throw new UsageError(`unknown action "${action ?? ''}" for db: use migrate`);
  const applied = await migrate(ctx.config.databaseUrl);
  ctx.output.out(applied.length > 0 ? `applied ${applied.join(', ')}` : 'database is up to date');
}

/** `--queue Q` (a queue, or one shard of the events queue: `events-2`) and the job ids given, checked. */
function failedFilter(ctx: CommandContext): FailedJobsFilter {
  const queue = ctx.flags.queue as string | undefined;
  const layout = queueLayout(ctx.config.redisUrl, ctx.config.queuePrefix, ctx.config.eventsQueueShards);
  const names = [...new Set([...Object.values(QUEUE_NAMES), ...allQueueShards(layout).map((shard) => shard.label)])];
  if (queue !== undefined && !names.includes(queue)) throw new UsageError(`unknown queue "${queue}": use one of ${names.join(', ')}`);
  return { queue, ids: ctx.args, eventsShards: ctx.config.eventsQueueShards };
}

const FAILED_COLUMNS = ['queue', 'id', 'attempts', 'failedAt', 'reason'];

export async function queuesCommand(action: string | undefined, ctx: CommandContext): Promise<void> {
  const { redisUrl, queuePrefix } = ctx.config;
  const print = (rows: object[], columns: string[]) =>
    ctx.output.out(ctx.flags.json ? JSON.stringify(rows) : table(rows as Record<string, unknown>[], columns));
  switch (action) {
    case 'depth':
      // One row per queue, and per shard of the events queue (EVENTS_QUEUE_SHARDS): events, events-1, …
      return print(await readQueueDepths(redisUrl, queuePrefix, ctx.config.eventsQueueShards), ['queue', 'waiting', 'active', 'delayed', 'failed']);
    case 'failed':
      return print(await listFailedJobs(redisUrl, queuePrefix, { ...failedFilter(ctx), limit: limitOf(ctx) }), FAILED_COLUMNS);
    case 'retry-failed': {
      const moved = await retryFailedJobs(redisUrl, queuePrefix, failedFilter(ctx));
      if (ctx.flags.json) return print(moved, []);
      return ctx.output.out(
        `moved ${moved.length} failed job(s) back to waiting${moved.length > 0 ? `: ${moved.map((job) => `${job.queue}:${job.id}`).join(', ')}` : ''}`,
      );
    }
    case 'discard-failed': {
      if (!ctx.flags.yes) throw new UsageError('discard-failed deletes jobs and their events for good: add --yes');
      const removed = await discardFailedJobs(redisUrl, queuePrefix, failedFilter(ctx));
      if (ctx.flags.json) return print(removed, []);
      return ctx.output.out(
        `deleted ${removed.length} failed job(s)${removed.length > 0 ? `: ${removed.map((job) => `${job.queue}:${job.id}`).join(', ')}` : ''}`,
      );
    }
    default:
      throw new UsageError(`unknown action "${action ?? ''}" for queues: use depth, failed, retry-failed or discard-failed`);
  }
}
