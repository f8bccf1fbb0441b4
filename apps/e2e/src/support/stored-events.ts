import { waitFor, type TestEnv } from '@evt/testing';

/** What a test sent for one event, in the `events` columns it must land in. */
export interface SentEvent {
  messageId: string;
  type: string;
  userId: string;
  event: string | null;
}

/** A row of `events` reduced to the columns the SDK tests check. */
export interface StoredEvent extends SentEvent {
  copies: number;
}

/** Rows stored for a source so far. */
export async function countStored(env: TestEnv, sourceId: string): Promise<number> {
  const [row] = await env.db.query<{ n: number }>('select count(*)::int as n from events where source_id = $1', [sourceId]);
  return row.n;
}

/** Waits until the source has at least `expected` rows; returns the time it happened (ms since epoch). */
export async function waitForStored(env: TestEnv, sourceId: string, expected: number, timeoutMs: number): Promise<number> {
  let seen = 0;
  try {
    await waitFor(
      async () => {
        seen = await countStored(env, sourceId);
        return seen >= expected ? seen : undefined;
      },
      timeoutMs,
      `${expected} rows in events for source ${sourceId}`,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; ${seen} stored`);
  }
  return Date.now();
}

/**
 * One entry per distinct message_id of the source, ordered by message_id, with how many rows
 * carry it and (from one of them) the columns the SDK tests check.
 */
export async function storedEvents(env: TestEnv, sourceId: string): Promise<StoredEvent[]> {
  const rows = await env.db.query<{ message_id: string; copies: number; type: string; user_id: string; event: string | null }>(
    `select message_id, count(*)::int as copies, min(type) as type, min(user_id) as user_id, min(event) as event
       from events where source_id = $1
      group by message_id
      order by message_id collate "C"`,
    [sourceId],
  );
  return rows.map((row) => ({ messageId: row.message_id, copies: row.copies, type: row.type, userId: row.user_id, event: row.event }));
}

/** `sent` as `storedEvents` must return it when every event is stored exactly once. */
export function expectedRows(sent: SentEvent[]): StoredEvent[] {
  return [...sent].sort((a, b) => (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0)).map((event) => ({ ...event, copies: 1 }));
}

/** How many of the source's stored payloads carry `context.library.name` = `libraryName`. */
export async function countWithLibrary(env: TestEnv, sourceId: string, libraryName: string): Promise<number> {
  const [row] = await env.db.query<{ n: number }>(`select count(*)::int as n from events where source_id = $1 and payload #>> '{context,library,name}' = $2`, [
    sourceId,
    libraryName,
  ]);
  return row.n;
}

/** One line for the run's log: how fast events went from the first SDK call to Postgres. */
export function throughputLine(label: string, events: number, startedAt: number, storedAt: number): string {
  const ms = Math.max(storedAt - startedAt, 1);
  return `e2e ${label}: ${events} events stored in ${ms} ms (${Math.round((events * 1000) / ms)} events/s)`;
}
