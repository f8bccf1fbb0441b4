import { sql } from 'drizzle-orm';
import { aliases } from '../schema';
import { insertFromJson, type Statements } from './statements';

export type AliasRow = typeof aliases.$inferInsert;

const KEYS = ['workspaceId', 'previousId', 'userId', 'messageId', 'aliasedAt'] as const;

/** Writes `aliases`. */
export class AliasesWriter {
  constructor(private readonly statements: Statements) {}

  /** Inserts aliases; one already stored is kept as it is. */
  async insert(rows: AliasRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.statements.execute(sql`${insertFromJson(aliases, KEYS, rows)}
      ON CONFLICT (workspace_id, previous_id, user_id) DO NOTHING`);
  }
}
