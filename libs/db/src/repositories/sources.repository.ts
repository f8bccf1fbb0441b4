import { asc, eq, or, sql } from 'drizzle-orm';
import type { Database } from '../client';
import { randomBase62 } from '../ids';
import { destinations, sources, type SourceKind } from '../schema';

export type Source = typeof sources.$inferSelect;

/** What the gateway needs to know of a source; held in memory, refreshed in the background. */
export interface SourceConfig {
  id: string;
  /** Shown to browser SDKs in their source configuration (GET /sourceConfig). */
  name: string;
  workspaceId: string;
  writeKey: string;
  kind: SourceKind;
  enabled: boolean;
  originalSourceId: string | null;
  rateLimit: { events: number; windowSeconds: number } | null;
  /** The source's destinations (rETL): `X-Rudder-Destination-Id` must name one of them. */
  destinations: Array<{ id: string; enabled: boolean }>;
}

export interface NewSource {
  workspaceId: string;
  name: string;
  kind?: SourceKind;
  originalSourceId?: string | null;
  rateLimitEvents?: number | null;
  rateLimitWindowSeconds?: number;
}

/** A new write key: 32 random base62 characters (about 190 bits). */
export function newWriteKey(): string {
  return randomBase62(32);
}

export class SourcesRepository {
  constructor(private readonly db: Database) {}

  async create(input: NewSource): Promise<Source> {
    const [row] = await this.db
      .insert(sources)
      .values({
        id: randomBase62(),
        workspaceId: input.workspaceId,
        name: input.name,
        writeKey: newWriteKey(),
        kind: input.kind ?? 'event_stream',
        originalSourceId: input.originalSourceId ?? null,
        rateLimitEvents: input.rateLimitEvents ?? null,
        rateLimitWindowSeconds: input.rateLimitWindowSeconds ?? 60,
      })
      .returning();
    return row;
  }

  async list(workspaceId?: string): Promise<Source[]> {
    const query = this.db.select().from(sources);
    return (workspaceId ? query.where(eq(sources.workspaceId, workspaceId)) : query).orderBy(asc(sources.createdAt), asc(sources.name));
  }

  /** By id, or by name when the name is unique. */
  async find(idOrName: string): Promise<Source | undefined> {
    const rows = await this.db
      .select()
      .from(sources)
      .where(or(eq(sources.id, idOrName), eq(sources.name, idOrName)))
      .limit(2);
    return rows.find((row) => row.id === idOrName) ?? (rows.length === 1 ? rows[0] : undefined);
  }

  async setEnabled(id: string, enabled: boolean): Promise<Source | undefined> {
    const [row] = await this.db
      .update(sources)
      .set({ enabled, updatedAt: sql`now()` })
      .where(eq(sources.id, id))
      .returning();
    return row;
  }

  /** Replaces the write key; the old one stops working as soon as gateways refresh (seconds). */
  async rotateWriteKey(id: string): Promise<Source | undefined> {
    const [row] = await this.db
      .update(sources)
      .set({ writeKey: newWriteKey(), updatedAt: sql`now()` })
      .where(eq(sources.id, id))
      .returning();
    return row;
  }

  async setRateLimit(id: string, events: number | null, windowSeconds: number): Promise<Source | undefined> {
    const [row] = await this.db
      .update(sources)
      .set({ rateLimitEvents: events, rateLimitWindowSeconds: windowSeconds, updatedAt: sql`now()` })
      .where(eq(sources.id, id))
      .returning();
    return row;
  }

  /** The gateway's read model: every source with its destinations, in two queries. */
  async loadConfigs(): Promise<SourceConfig[]> {
    const destinationsBySource = new Map<string, Array<{ id: string; enabled: boolean }>>();
    for (const destination of await this.db
      .select({ id: destinations.id, sourceId: destinations.sourceId, enabled: destinations.enabled })
      .from(destinations)) {
      const list = destinationsBySource.get(destination.sourceId) ?? [];
      list.push({ id: destination.id, enabled: destination.enabled });
      destinationsBySource.set(destination.sourceId, list);
    }
    const rows = await this.db
      .select({
        id: sources.id,
        name: sources.name,
        workspaceId: sources.workspaceId,
        writeKey: sources.writeKey,
        kind: sources.kind,
        enabled: sources.enabled,
        originalSourceId: sources.originalSourceId,
        rateLimitEvents: sources.rateLimitEvents,
        rateLimitWindowSeconds: sources.rateLimitWindowSeconds,
      })
      .from(sources);
    return rows.map(({ rateLimitEvents, rateLimitWindowSeconds, ...row }) => ({
      ...row,
      rateLimit: rateLimitEvents ? { events: rateLimitEvents, windowSeconds: rateLimitWindowSeconds } : null,
      destinations: destinationsBySource.get(row.id) ?? [],
    }));
  }
}
