import { and, desc, eq } from 'drizzle-orm';
import type { Database } from '../client';
import { rejectedEvents } from '../schema';

export type RejectedEventRecord = typeof rejectedEvents.$inferSelect;

export class RejectedEventsRepository {
  constructor(private readonly db: Database) {}

  /** The newest rejections first, optionally of one source. */
  async list(options: { sourceId?: string; limit?: number } = {}): Promise<RejectedEventRecord[]> {
    const where = options.sourceId ? and(eq(rejectedEvents.sourceId, options.sourceId)) : undefined;
    return this.db
      .select()
      .from(rejectedEvents)
      .where(where)
      .orderBy(desc(rejectedEvents.receivedAt), desc(rejectedEvents.storedAt))
      .limit(options.limit ?? 50);
  }
}
