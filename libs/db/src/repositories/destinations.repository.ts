import { asc, eq } from 'drizzle-orm';
import type { Database } from '../client';
import { randomBase62 } from '../ids';
import { destinations } from '../schema';

export type Destination = typeof destinations.$inferSelect;

/** Destinations of rETL sources: `X-Rudder-Destination-Id` is checked against them. */
export class DestinationsRepository {
  constructor(private readonly db: Database) {}

  async add(sourceId: string, name: string): Promise<Destination> {
    const [row] = await this.db.insert(destinations).values({ id: randomBase62(), sourceId, name }).returning();
    return row;
  }

  async list(sourceId?: string): Promise<Destination[]> {
    const query = this.db.select().from(destinations);
    return (sourceId ? query.where(eq(destinations.sourceId, sourceId)) : query).orderBy(asc(destinations.createdAt), asc(destinations.name));
  }

  async setEnabled(id: string, enabled: boolean): Promise<Destination | undefined> {
    const [row] = await this.db.update(destinations).set({ enabled }).where(eq(destinations.id, id)).returning();
    return row;
  }
}
