import { sql } from 'drizzle-orm';
import { audienceMembers } from '../schema';
import { insertFromJson, type JsonObject, type Statements } from './statements';

/** An audience member added (present) or removed (not present); updated_at is the database's. */
export type AudienceMemberWrite = Required<Omit<typeof audienceMembers.$inferInsert, 'updatedAt' | 'member'>> & { member: JsonObject };

/** Audience members upserted per statement: bounds the memory of one statement, in the worker and in Postgres. */
const PER_STATEMENT = 5000;

const KEYS = ['sourceId', 'audienceId', 'memberKey', 'workspaceId', 'member', 'present', 'messageId', 'sequence', 'sequenceIndex'] as const;

/** Writes `audience_members`. */
export class AudienceMembersWriter {
  constructor(private readonly statements: Statements) {}

  /** Adds (present) and removes (not present) audience members; older writes change nothing. Rows unique per key. */
  async upsert(rows: AudienceMemberWrite[]): Promise<void> {
    // In statements of bounded size: one statement's JSON parameter is held whole by both sides.
    for (let start = 0; start < rows.length; start += PER_STATEMENT) {
      await this.statements.execute(sql`${insertFromJson(audienceMembers, KEYS, rows.slice(start, start + PER_STATEMENT))}
        ON CONFLICT (source_id, audience_id, member_key) DO UPDATE SET
          member = excluded.member, present = excluded.present, message_id = excluded.message_id,
          sequence = excluded.sequence, sequence_index = excluded.sequence_index, updated_at = now()
        WHERE (audience_members.sequence, audience_members.sequence_index) < (excluded.sequence, excluded.sequence_index)`);
    }
  }
}
