import { sql } from 'drizzle-orm';
import { users } from '../schema';
import { insertFromJson, type JsonObject, type Statements } from './statements';

/** A profile change of `users`: every column given, traits to merge into the stored ones. */
export type UserUpsert = Required<Omit<typeof users.$inferInsert, 'traits'>> & { traits: JsonObject };

const KEYS = ['workspaceId', 'userId', 'anonymousId', 'traits', 'firstSeenAt', 'lastSeenAt', 'lastMessageId'] as const;

/** Writes `users`. */
export class UsersWriter {
  constructor(private readonly statements: Statements) {}

  /**
   * Merges traits into `users`. Rows must be unique per (workspace, user) and sorted, which keeps
   * concurrent workers from deadlocking. Newer traits win whatever order jobs run in.
   */
  async upsert(rows: UserUpsert[]): Promise<void> {
    if (rows.length === 0) return;
    await this.statements.execute(sql`${insertFromJson(users, KEYS, rows)}
      ON CONFLICT (workspace_id, user_id) DO UPDATE SET
        traits = CASE WHEN excluded.last_seen_at >= users.last_seen_at THEN users.traits || excluded.traits
                      ELSE excluded.traits || users.traits END,
        anonymous_id = CASE WHEN excluded.last_seen_at >= users.last_seen_at THEN coalesce(excluded.anonymous_id, users.anonymous_id)
                            ELSE coalesce(users.anonymous_id, excluded.anonymous_id) END,
        last_message_id = CASE WHEN excluded.last_seen_at >= users.last_seen_at THEN excluded.last_message_id
                               ELSE users.last_message_id END,
        first_seen_at = least(users.first_seen_at, excluded.first_seen_at),
        last_seen_at = greatest(users.last_seen_at, excluded.last_seen_at)`);
  }
}
