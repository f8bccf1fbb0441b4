import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../client';
import { audienceMembers, retlRecords } from '../schema';

export type RetlRecord = typeof retlRecords.$inferSelect;
export type AudienceMember = typeof audienceMembers.$inferSelect;

export interface AudienceSummary {
  sourceId: string;
  audienceId: string;
  members: number;
  removed: number;
  updatedAt: string;
}

/** What the internal API's workers stored: rETL records and audience lists, for admins. */
export class InternalDataRepository {
  constructor(private readonly db: Database) {}

  async audiences(sourceId?: string): Promise<AudienceSummary[]> {
    const rows = await this.db
      .select({
        sourceId: audienceMembers.sourceId,
        audienceId: audienceMembers.audienceId,
        members: sql<number>`count(*) FILTER (WHERE ${audienceMembers.present})::int`,
        removed: sql<number>`count(*) FILTER (WHERE NOT ${audienceMembers.present})::int`,
        updatedAt: sql<string>`max(${audienceMembers.updatedAt})::text`,
      })
      .from(audienceMembers)
      .where(sourceId ? eq(audienceMembers.sourceId, sourceId) : undefined)
      .groupBy(audienceMembers.sourceId, audienceMembers.audienceId)
      .orderBy(asc(audienceMembers.sourceId), asc(audienceMembers.audienceId));
    return rows;
  }

  /** Members currently in an audience list. */
  async members(sourceId: string, audienceId: string, limit = 100): Promise<AudienceMember[]> {
    return this.db
      .select()
      .from(audienceMembers)
      .where(and(eq(audienceMembers.sourceId, sourceId), eq(audienceMembers.audienceId, audienceId), eq(audienceMembers.present, true)))
      .orderBy(asc(audienceMembers.memberKey))
      .limit(limit);
  }

  /** rETL records, newest first; deleted ones included (their `deleted` flag is set). */
  async retlRecords(options: { sourceId?: string; destinationId?: string; limit?: number } = {}): Promise<RetlRecord[]> {
    const where = and(
      options.sourceId ? eq(retlRecords.sourceId, options.sourceId) : undefined,
      options.destinationId !== undefined ? eq(retlRecords.destinationId, options.destinationId) : undefined,
    );
    return this.db
      .select()
      .from(retlRecords)
      .where(where)
      .orderBy(desc(retlRecords.updatedAt), asc(retlRecords.recordId))
      .limit(options.limit ?? 50);
  }
}
