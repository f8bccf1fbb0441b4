import type { Command } from 'commander';
import { RejectedEventsRepository, type RejectedEventRecord } from '@evt/db';
import { isPlainObject, validateAndEnrich, type Dictionary } from '@evt/ingest';
import { QueueProducers } from '@evt/queue';
import { isEventType, isUnstorableReason, type QueuedEvent, type RejectedEvent } from '@evt/schemas';
import { limitOption, reads, yesOption } from '../options';
import { table } from '../render';
import { sourceIdOf, type CommandContext } from './context';

/** Why what was kept of a rejected event cannot go through the pipeline again, or undefined when it can. */
function notRetriable(row: RejectedEventRecord): string | undefined {
  if (!row.sourceId || !row.workspaceId) return 'not an event of a source (a malformed job)';
  if (!isPlainObject(row.event)) return 'only its size was kept';
  // The kept trace has U+FFFD where the client sent what Postgres cannot store: never store it altered.
  if (isUnstorableReason(row.reason)) return 'the event as sent cannot be stored exactly (the kept copy is altered)';
  if (!isEventType(row.event.type)) return 'not an event of the public API';
  return undefined;
}

/** Validates and enriches a rejected event again, as the gateway would have with its receivedAt: the reason it still fails, or undefined once it is in `accepted`. */
function stillRejected(row: RejectedEventRecord, maxEventSize: number, accepted: QueuedEvent[]): string | undefined {
  const receivedAtMs = Date.parse(row.receivedAt);
  const rejected: RejectedEvent[] = [];
  validateAndEnrich(
    {
      source: { id: row.sourceId as string, workspaceId: row.workspaceId as string },
      events: [{ ...(row.event as Dictionary), receivedAt: row.receivedAt }],
      request: { receivedAt: new Date(receivedAtMs).toISOString(), receivedAtMs, requestIp: undefined, keepOriginal: true },
      bytes: 0,
    },
    maxEventSize,
    accepted,
    rejected,
  );
  return rejected[0]?.reason;
}

interface RetryOptions {
  source?: string;
  limit: number;
  yes?: boolean;
}

/**
 * Sends rejected events through the gateway's validation and enrichment again (validateAndEnrich)
 * and enqueues those that pass now (a limit was raised, a rule relaxed, a database constraint
 * dropped); they keep their receivedAt. Retried rejections are deleted; the rest stay, with the
 * reason they still fail.
 */
async function retry(ctx: CommandContext, ids: string[], options: RetryOptions): Promise<void> {
  if (ids.length === 0 && options.source === undefined)
    await ctx.confirm('Retry the rejected events of every source?', 'rejected retry of every source (no ids, no --source)', options.yes);
  const repository = new RejectedEventsRepository(ctx.db().db);
  const rows = await repository.list({ sourceId: await sourceIdOf(ctx, options.source), ids, limit: options.limit });
  const accepted: QueuedEvent[] = [];
  const results: Array<{ id: string; result: string }> = [];
  for (const row of rows) {
    const reason = notRetriable(row) ?? stillRejected(row, ctx.settings.maxEventSize, accepted);
    results.push({ id: row.id, result: reason !== undefined ? `still rejected: ${reason}` : 'retried' });
  }
  if (accepted.length > 0) {
    ctx.services = ['Redis', 'Postgres'];
    const producers = new QueueProducers({
      redisUrl: ctx.settings.redisUrl,
      prefix: ctx.settings.queuePrefix,
      eventsShards: ctx.settings.eventsQueueShards,
      timeoutMs: 10_000,
      maxItemsPerJob: 10_000,
      maxBytesPerJob: 1 << 30,
      maxPendingBytes: 1 << 30,
    });
    try {
      await producers.waitUntilReady();
      await producers.events.enqueue({ items: accepted, rejected: [], bytes: 0 });
    } finally {
      await producers.close();
    }
    ctx.services = ['Postgres'];
    await repository.delete(results.filter((r) => r.result === 'retried').map((r) => r.id));
  }
  ctx.print(results, () => table(results, ['id', 'result']));
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
      .description('validate rejected events again and enqueue those that pass now (they keep their receivedAt)')
      .argument('[ids...]', 'these rejections only')
      .option('--source <source>', 'of this source only (id or name)')
      .addOption(limitOption(50))
      .addOption(yesOption())
      .action((ids: string[], options: RetryOptions) => retry(ctx, ids, options)),
    'DATABASE_URL, REDIS_URL, QUEUE_PREFIX, EVENTS_QUEUE_SHARDS and MAX_EVENT_SIZE',
  );
}
