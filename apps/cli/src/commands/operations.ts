import { Option, type Command } from 'commander';
import { migrate } from '@evt/db';
import {
  allQueueShards,
  discardFailedJobs,
  listFailedJobs,
  queueLayout,
  readQueueDepths,
  retryFailedJobs,
  type FailedJob,
  type FailedJobsFilter,
} from '@evt/queue';
import { QUEUE_NAMES } from '@evt/schemas';
import { UsageError } from '../errors';
import { limitOption, reads, yesOption } from '../options';
import { table } from '../render';
import type { CommandContext } from './context';

const QUEUE_SETTINGS = 'REDIS_URL (or REDIS_SENTINELS and REDIS_SENTINEL_NAME, or REDIS_CLUSTER_NODES), QUEUE_PREFIX and EVENTS_QUEUE_SHARDS';

/** `db migrate`. */
export function registerDb(program: Command, ctx: CommandContext): void {
  reads(
    program
      .command('db')
      .description('the database')
      .command('migrate')
      .description('apply the database migrations not applied yet (creates the database if missing)')
      .action(async () => {
        const applied = await migrate(ctx.settings.databaseUrl, { connectTimeoutMs: ctx.connectTimeoutMs });
        ctx.print({ applied }, () => (applied.length > 0 ? `applied ${applied.join(', ')}` : 'database is up to date'));
      }),
    'DATABASE_URL',
  );
}

/** `--queue Q` (a queue, or one shard of the events queue: `events-2`) and the job ids given, checked. */
function failedFilter(ctx: CommandContext, queue: string | undefined, ids: string[]): FailedJobsFilter & { readyTimeoutMs: number } {
  const { redisUrl, queuePrefix, eventsQueueShards } = ctx.settings;
  const layout = queueLayout(redisUrl, queuePrefix, eventsQueueShards);
  const names = [...new Set([...Object.values(QUEUE_NAMES), ...allQueueShards(layout).map((shard) => shard.label)])];
  if (queue !== undefined && !names.includes(queue)) throw new UsageError(`unknown queue "${queue}": use one of ${names.join(', ')}`);
  return { queue, ids, eventsShards: eventsQueueShards, readyTimeoutMs: ctx.connectTimeoutMs };
}

const FAILED_COLUMNS = ['queue', 'id', 'attempts', 'failedAt', 'reason'];
const jobList = (jobs: FailedJob[]) => (jobs.length > 0 ? `: ${jobs.map((job) => `${job.queue}:${job.id}`).join(', ')}` : '');
const queueOption = () => new Option('--queue <queue>', 'of this queue only, or of one shard of the events queue (events-2)');

/** `queues depth|failed|retry-failed|discard-failed`. */
export function registerQueues(program: Command, ctx: CommandContext): void {
  const queues = program
    .command('queues')
    .description('the queues in Redis: their depths and their failed jobs')
    .hook('preAction', () => {
      ctx.services = ['Redis'];
    });

  reads(
    queues
      .command('depth')
      .description('jobs waiting, active, delayed and failed per queue (and per shard of the events queue)')
      .action(async () => {
        const { redisUrl, queuePrefix, eventsQueueShards } = ctx.settings;
        const depths = await readQueueDepths(redisUrl, queuePrefix, eventsQueueShards, { readyTimeoutMs: ctx.connectTimeoutMs });
        ctx.print(depths, () => table(depths, ['queue', 'waiting', 'active', 'delayed', 'failed']));
      }),
    QUEUE_SETTINGS,
  );

  reads(
    queues
      .command('failed')
      .description('jobs that failed for good, with their attempts and reason')
      .addOption(queueOption())
      .addOption(limitOption(50))
      .action(async (options: { queue?: string; limit: number }) => {
        const { redisUrl, queuePrefix } = ctx.settings;
        const jobs = await listFailedJobs(redisUrl, queuePrefix, { ...failedFilter(ctx, options.queue, []), limit: options.limit });
        ctx.print(jobs, () => table(jobs, FAILED_COLUMNS));
      }),
    QUEUE_SETTINGS,
  );

  reads(
    queues
      .command('retry-failed')
      .description('move failed jobs back to waiting, their count of failures reset')
      .argument('[ids...]', 'these jobs only (every failed job when none)')
      .addOption(queueOption())
      .action(async (ids: string[], options: { queue?: string }) => {
        const { redisUrl, queuePrefix } = ctx.settings;
        const moved = await retryFailedJobs(redisUrl, queuePrefix, failedFilter(ctx, options.queue, ids));
        ctx.print(moved, () => `moved ${moved.length} failed job(s) back to waiting${jobList(moved)}`);
      }),
    QUEUE_SETTINGS,
  );

  reads(
    queues
      .command('discard-failed')
      .description('delete failed jobs and the events they carry, for good')
      .argument('[ids...]', 'these jobs only (every failed job when none)')
      .addOption(queueOption())
      .addOption(yesOption())
      .action(async (ids: string[], options: { queue?: string; yes?: boolean }) => {
        const { redisUrl, queuePrefix } = ctx.settings;
        const filter = failedFilter(ctx, options.queue, ids);
        if (!options.yes && ctx.output.confirm) {
          const failed = await listFailedJobs(redisUrl, queuePrefix, { ...filter, limit: Number.MAX_SAFE_INTEGER });
          if (failed.length === 0) return ctx.print([], () => 'deleted 0 failed job(s)');
          await ctx.confirm(`Delete ${failed.length} failed job(s) and the events they carry, for good?`, 'queues discard-failed', false);
        } else {
          await ctx.confirm('', 'queues discard-failed (deletes jobs and their events for good)', options.yes);
        }
        const removed = await discardFailedJobs(redisUrl, queuePrefix, filter);
        ctx.print(removed, () => `deleted ${removed.length} failed job(s)${jobList(removed)}`);
      }),
    QUEUE_SETTINGS,
  );
}
