import { sql } from 'drizzle-orm';
import { groups } from '../schema';
import { insertFromJson, type JsonObject, type Statements } from './statements';

/** A profile change of `groups`: every column given, traits to merge into the stored ones. */
export type GroupUpsert = Required<Omit<typeof groups.$inferInsert, 'traits'>> & { traits: JsonObject };

const KEYS = ['workspaceId', 'groupId', 'traits', 'lastUserId', 'firstSeenAt', 'lastSeenAt'] as const;

/** Writes `groups`. */
export class GroupsWriter {
  constructor(private readonly statements: Statements) {}

  /** Merges traits into `groups`; same rules as users (rows unique per key and sorted). */
  async upsert(rows: GroupUpsert[]): Promise<void> {
    if (rows.length === 0) return;
    await this.statements.execute(sql`${insertFromJson(groups, KEYS, rows)}
      ON CONFLICT (workspace_id, group_id) DO UPDATE SET
        traits = CASE WHEN excluded.last_seen_at >= groups.last_seen_at THEN groups.traits || excluded.traits
                      ELSE excluded.traits || groups.traits END,
        last_user_id = CASE WHEN excluded.last_seen_at >= groups.last_seen_at THEN coalesce(excluded.last_user_id, groups.last_user_id)
                            ELSE groups.last_user_id END,
        first_seen_at = least(groups.first_seen_at, excluded.first_seen_at),
        last_seen_at = greatest(groups.last_seen_at, excluded.last_seen_at)`);
  }
}
