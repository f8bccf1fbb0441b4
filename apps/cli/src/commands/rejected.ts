import { RejectedEventsRepository, type RejectedEventRecord } from '@evt/db';
import { enrichEvent, isPlainObject, type Dictionary } from '@evt/ingest';
import { QueueProducers } from '@evt/queue';
import { eventRejectionReason, isEventType, isUnstorableReason, unstorableValueReason, type QueuedEvent } from '@evt/schemas';
import { table, UsageError } from '../output';
import { limitOf, sourceIdFlag, type CommandContext } from './context';

/** Why a rejected event still cannot be accepted, or undefined when it now can. */
function stillRejected(row: RejectedEventRecord): string | undefined {
  if (!row.sourceId || !row.workspaceId) return 'not an event of a source (a malformed job)';
  if (!isPlainObject(row.event)) return 'only its size was kept';
  // The kept trace has U+FFFD where the client sent what Postgres cannot store: never store it altered.
  if (isUnstorableReason(row.reason)) return 'the event as sent cannot be stored exactly (the kept copy is altered)';
  if (!isEventType(row.event.type)) return 'not an event of the public API';
  return eventRejectionReason(row.event.type, row.event) ?? unstorableValueReason(row.event);
}

/**
 * Sends rejected events through validation again and enqueues those that pass now (a limit was
 * raised, a rule relaxed, a database constraint dropped); they keep their receivedAt. Retried
 * rejections are deleted; the rest stay, with the reason they still fail.
 */
async function retry(ctx: CommandContext, repository: RejectedEventsRepository): Promise<void> {
  const rows = await repository.list({ sourceId: await sourceIdFlag(ctx), ids: ctx.args, limit: limitOf(ctx) });
  const accepted: QueuedEvent[] = [];
  const results: Array<{ id: string; result: string }> = [];
  for (const row of rows) {
    const reason = stillRejected(row);
    if (reason !== undefined) {
      results.push({ id: row.id, result: `still rejected: ${reason}` });
      continue;
    }
    const event = { ...(row.event as Dictionary), receivedAt: row.receivedAt };
    const receivedAtMs = Date.parse(row.receivedAt);
    accepted.push({
      sourceId: row.sourceId as string,
      workspaceId: row.workspaceId as string,
      event: enrichEvent(event, { receivedAt: new Date(receivedAtMs).toISOString(), receivedAtMs, requestIp: undefined, keepOriginal: true }),
    });
    results.push({ id: row.id, result: 'retried' });
  }
  if (accepted.length > 0) {
    const producers = new QueueProducers({ redisUrl: ctx.config.redisUrl, prefix: ctx.config.queuePrefix, timeoutMs: 10_000, maxItemsPerJob: 10_000, maxBytesPerJob: 1 << 30, maxPendingBytes: 1 << 30 });
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
