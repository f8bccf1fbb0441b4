import { and, asc, desc, eq, gt, inArray } from 'drizzle-orm';
import type { Database } from '../client';
import { rejectedEvents } from '../schema';

export type RejectedEventRecord = typeof rejectedEvents.$inferSelect;

export class RejectedEventsRepository {
  constructor(private readonly db: Database) {}

  /** The newest rejections first, optionally of one source or with the given ids. */
  async list(options: { sourceId?: string; ids?: string[]; limit?: number } = {}): Promise<RejectedEventRecord[]> {
    const where = and(
      options.sourceId ? eq(rejectedEvents.sourceId, options.sourceId) : undefined,
      options.ids && options.ids.length > 0 ? inArray(rejectedEvents.id, options.ids) : undefined,
    );
    return this.db
      .select()
      .from(rejectedEvents)
      .where(where)
      .orderBy(desc(rejectedEvents.receivedAt), desc(rejectedEvents.storedAt))
      .limit(options.limit ?? 50);
  }

  /**
   * The next `limit` rejections after `afterId` in id order, optionally of one source or with the
   * given ids: a keyset page on the primary key, so paging on from the last id visits every row
   * once, however many rows are deleted or added meanwhile, at the cost of one index range each.
   */
  async pageAfter(options: { afterId?: string; sourceId?: string; ids?: string[]; limit: number }): Promise<RejectedEventRecord[]> {
    const where = and(
      options.afterId !== undefined ? gt(rejectedEvents.id, options.afterId) : undefined,
      options.sourceId ? eq(rejectedEvents.sourceId, options.sourceId) : undefined,
      options.ids && options.ids.length > 0 ? inArray(rejectedEvents.id, options.ids) : undefined,
    );
    return this.db.select().from(rejectedEvents).where(where).orderBy(asc(rejectedEvents.id)).limit(options.limit);
  }

  /** Forgets rejections that were retried successfully. */
  async delete(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const deleted = await this.db.delete(rejectedEvents).where(inArray(rejectedEvents.id, ids)).returning({ id: rejectedEvents.id });
    return deleted.length;
  }
}
