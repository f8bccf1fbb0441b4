import { and, desc, eq, inArray } from 'drizzle-orm';
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

  /** Forgets rejections that were retried successfully. */
  async delete(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const deleted = await this.db.delete(rejectedEvents).where(inArray(rejectedEvents.id, ids)).returning({ id: rejectedEvents.id });
    return deleted.length;
  }
}
