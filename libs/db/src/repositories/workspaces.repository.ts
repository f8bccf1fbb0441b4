import { asc, eq, or } from 'drizzle-orm';
import type { Database } from '../client';
import { randomBase62 } from '../ids';
import { workspaces } from '../schema';

export type Workspace = typeof workspaces.$inferSelect;

export class WorkspacesRepository {
  constructor(private readonly db: Database) {}

  async create(name: string): Promise<Workspace> {
    const [row] = await this.db.insert(workspaces).values({ id: randomBase62(), name }).returning();
    return row;
  }

  async list(): Promise<Workspace[]> {
    return this.db.select().from(workspaces).orderBy(asc(workspaces.createdAt), asc(workspaces.name));
  }

  /** By id or by name, so admins can type either. */
  async find(idOrName: string): Promise<Workspace | undefined> {
    const [row] = await this.db
      .select()
      .from(workspaces)
      .where(or(eq(workspaces.id, idOrName), eq(workspaces.name, idOrName)))
      .limit(1);
    return row;
  }
}
