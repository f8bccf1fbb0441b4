import { RejectedEventsRepository, type RejectedEventRecord } from '@evt/db';
import { isPlainObject, validateAndEnrich, type Dictionary } from '@evt/ingest';
import { QueueProducers } from '@evt/queue';
import { isEventType, isUnstorableReason, type QueuedEvent, type RejectedEvent } from '@evt/schemas';
import { table, UsageError } from '../output';
import { limitOf, sourceIdFlag, type CommandContext } from './context';

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

/**
 * Sends rejected events through the gateway's validation and enrichment again (validateAndEnrich)
 * and enqueues those that pass now (a limit was raised, a rule relaxed, a database constraint
 * dropped); they keep their receivedAt. Retried rejections are deleted; the rest stay, with the
 * reason they still fail.
 */
async function retry(ctx: CommandContext, repository: RejectedEventsRepository): Promise<void> {
  const rows = await repository.list({ sourceId: await sourceIdFlag(ctx), ids: ctx.args, limit: limitOf(ctx) });
  const accepted: QueuedEvent[] = [];
  const results: Array<{ id: string; result: string }> = [];
  for (const row of rows) {
    const reason = notRetriable(row) ?? stillRejected(row, ctx.config.maxEventSize, accepted);
    results.push({ id: row.id, result: reason !== undefined ? `still rejected: ${reason}` : 'retried' });
  }
  if (accepted.length > 0) {
    const producers = new QueueProducers({
      redisUrl: ctx.config.redisUrl,
      prefix: ctx.config.queuePrefix,
      eventsShards: ctx.config.eventsQueueShards,
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
    await repository.delete(results.filter((r) => r.result === 'retried').map((r) => r.id));
  }
  ctx.output.out(ctx.flags.json ? JSON.stringify(results) : table(results, ['id', 'result']));
}

export async function rejectedCommand(action: string | undefined, ctx: CommandContext): Promise<void> {
  const repository = new RejectedEventsRepository(ctx.db().db);
  if (action === 'retry') return retry(ctx, repository);
  if (action !== 'list') throw new UsageError(`unknown action "${action ?? ''}" for rejected: use list or retry`);
  const rows = await repository.list({ sourceId: await sourceIdFlag(ctx), limit: limitOf(ctx) });
  ctx.output.out(ctx.flags.json ? JSON.stringify(rows) : table(rows, ['id', 'receivedAt', 'sourceId', 'messageId', 'reason', 'eventSize']));
}
