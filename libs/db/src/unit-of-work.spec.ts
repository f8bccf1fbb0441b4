import { PermanentError, ServiceUnavailableError, UnexpectedError } from '@evt/errors';
import type { PoolClient } from 'pg';
import type { DbClient } from './client';
import { EventStore } from './unit-of-work';

// What pg rejects with: an Error carrying the SQLSTATE.
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

const user = {
  workspaceId: 'w',
  userId: 'u',
  anonymousId: null,
  traits: {},
  firstSeenAt: '2026-01-01T00:00:00Z',
  lastSeenAt: '2026-01-01T00:00:00Z',
  lastMessageId: 'm',
};

/** A connection that records the statements it is sent and fails those `fail` picks. */
function fakeDb(fail: (text: string) => Error | undefined = () => undefined) {
  const sent: string[] = [];
  const released: unknown[] = [];
  const client = {
    on: () => client,
    off: () => client,
    release: (error?: unknown) => released.push(error),
    async query(config: string | { text: string }) {
      const text = (typeof config === 'string' ? config : config.text).trim().split(/\s+/).slice(0, 3).join(' ');
      sent.push(text);
      const error = fail(text);
      if (error) throw error;
      return { rows: [], rowCount: 0 };
    },
  };
  const db = { connect: async () => client as unknown as PoolClient } as unknown as DbClient;
  return { db, sent, released };
}

describe('the unit of work translates every driver error', () => {
  it('in a writer’s statement, so the caller inside the transaction sees our error', async () => {
    const { db } = fakeDb((text) => (text.startsWith('INSERT INTO "users"') ? pgError('22P05', 'unsupported Unicode escape sequence') : undefined));
    let seen: unknown;
    await new EventStore(db).transaction(async (uow) => {
      seen = await uow.users.upsert([user]).catch((error: unknown) => error);
    });
    expect(seen).toBeInstanceOf(PermanentError);
    expect((seen as Error).message).toBe('database rejected the data: unsupported Unicode escape sequence');
  });

  it('in a savepoint: its work’s failure, rolled back to the savepoint, and the transaction goes on', async () => {
    const { db, sent } = fakeDb((text) => (text.startsWith('INSERT INTO "users"') ? pgError('23502', 'null value in column "user_id"') : undefined));
    let seen: unknown;
    await new EventStore(db).transaction(async (uow) => {
      seen = await uow.savepoint((inner) => inner.users.upsert([user])).catch((error: unknown) => error);
      await uow.savepoint(async () => 'fine');
    });
    expect(seen).toBeInstanceOf(PermanentError);
    expect(sent.slice(1)).toEqual([
      'BEGIN',
      'SAVEPOINT sp_1',
      'INSERT INTO "users"',
      'ROLLBACK TO SAVEPOINT',
      'SAVEPOINT sp_2',
      'RELEASE SAVEPOINT sp_2',
      'COMMIT',
    ]);
  });

  it('in a savepoint’s own statements: a connection lost at ROLLBACK TO SAVEPOINT is transient', async () => {
    const { db, released } = fakeDb((text) =>
      text.startsWith('INSERT')
        ? pgError('22001', 'value too long')
        : text.startsWith('ROLLBACK')
          ? new Error('Connection terminated unexpectedly')
          : undefined,
    );
    const error = await new EventStore(db).transaction((uow) => uow.savepoint((inner) => inner.users.upsert([user]))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(released[0]).toBeInstanceOf(Error); // the connection is not given back to the pool
  });

  it('at connect, BEGIN and COMMIT', async () => {
    const refused = { connect: () => Promise.reject(pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')) } as unknown as DbClient;
    await expect(new EventStore(refused).transaction(async () => undefined)).rejects.toBeInstanceOf(ServiceUnavailableError);
    const serialization = fakeDb((text) => (text === 'COMMIT' ? pgError('40001', 'could not serialize access') : undefined));
    await expect(new EventStore(serialization.db).transaction(async () => undefined)).rejects.toBeInstanceOf(ServiceUnavailableError);
    const missing = fakeDb((text) => (text === 'BEGIN' ? pgError('42P01', 'relation does not exist') : undefined));
    await expect(new EventStore(missing.db).transaction(async () => undefined)).rejects.toBeInstanceOf(UnexpectedError);
  });
});
