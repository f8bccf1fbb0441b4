import { copyInto as copyRows, type DbClient } from '@evt/db';
import { readQueueDepths } from '@evt/queue';

export { deleteQueuePrefix } from '@evt/queue';
// The plain COPY baseline writes the columns the events worker writes.
export { EVENT_COLUMNS } from '@evt/db';

/** One COPY of `rows` into `table` on a connection of its own. */
export async function copyInto(db: DbClient, table: string, columns: string[], rows: unknown[][]): Promise<void> {
  const client = await db.connect();
  try {
    await copyRows(client, table, columns, rows);
  } finally {
    client.release();
  }
}

/** Jobs of the events queue not done yet. */
export async function readQueueDepthsFromEnv(redisUrl: string): Promise<number> {
  const events = (await readQueueDepths(redisUrl, 'evt-bench')).find((depth) => depth.queue === 'events');
  return events ? events.waiting + events.active + events.delayed : 0;
}
