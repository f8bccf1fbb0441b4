import type { SQL } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import type { PoolClient } from 'pg';
import type { DbClient } from './client';
import { copyInto } from './copy';
import { constraintOf, sqlState, translateDbError } from './db-errors';
import { AliasesWriter } from './writers/aliases.writer';
import { AudienceMembersWriter } from './writers/audience-members.writer';
import { EventsWriter, prepareEventsStaging } from './writers/events.writer';
import { GroupsWriter } from './writers/groups.writer';
import { RejectedEventsWriter } from './writers/rejected-events.writer';
import { RetlRecordsWriter } from './writers/retl-records.writer';
import type { Statements } from './writers/statements';
import { UsersWriter } from './writers/users.writer';

/** Runs `work`, rejecting with our error for whatever the driver (or anything else) rejected with. */
async function translated<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translateDbError(error);
  }
}

/** The statements of one connection, each failure translated where the driver is called. */
class ConnectionStatements implements Statements {
  private readonly tx: ReturnType<typeof drizzle<Record<string, never>, PoolClient>>;

  constructor(private readonly client: PoolClient) {
    this.tx = drizzle(client);
  }

  execute(statement: SQL): Promise<void> {
    return translated(async () => {
      await this.tx.execute(statement);
    });
  }

  query<R extends Record<string, unknown>>(text: string): Promise<R[]> {
    return translated(async () => (await this.client.query<R>(text)).rows);
  }

  copy(table: string, columns: string[], rows: Iterable<unknown[]>): Promise<void> {
    return translated(() => copyInto(this.client, table, columns, rows));
  }

  copyUnlessDuplicate(table: string, columns: string[], rows: Iterable<unknown[]>, constraint: string): Promise<boolean> {
    return translated(async () => {
      await this.client.query('SAVEPOINT evt_copy');
      try {
        await copyInto(this.client, table, columns, rows);
      } catch (error) {
        await this.client.query('ROLLBACK TO SAVEPOINT evt_copy');
        if (sqlState(error) !== '23505' || constraintOf(error) !== constraint) throw error;
        await this.client.query('RELEASE SAVEPOINT evt_copy');
        return false;
      }
      await this.client.query('RELEASE SAVEPOINT evt_copy');
      return true;
    });
  }
}

/**
 * One transaction's writes, a writer per table. Every write is idempotent: running the same job
 * twice leaves the same rows. Whatever fails comes out as one of our errors: ServiceUnavailableError
 * (transient, retried without bound), PermanentError (the database refused the data) or
 * UnexpectedError (see db-errors.ts); never a driver error.
 */
export class UnitOfWork {
  readonly events: EventsWriter;
  readonly users: UsersWriter;
  readonly groups: GroupsWriter;
  readonly aliases: AliasesWriter;
  readonly rejectedEvents: RejectedEventsWriter;
  readonly retlRecords: RetlRecordsWriter;
  readonly audienceMembers: AudienceMembersWriter;
  private savepoints = 0;

  /** @internal made by EventStore.transaction only. */
  constructor(private readonly statements: ConnectionStatements) {
    this.events = new EventsWriter(statements);
    this.users = new UsersWriter(statements);
    this.groups = new GroupsWriter(statements);
    this.aliases = new AliasesWriter(statements);
    this.rejectedEvents = new RejectedEventsWriter(statements);
    this.retlRecords = new RetlRecordsWriter(statements);
    this.audienceMembers = new AudienceMembersWriter(statements);
  }

  /** Runs `work` inside a savepoint: its failure undoes only its own writes, and comes out translated. */
  async savepoint<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    const name = `sp_${++this.savepoints}`;
    await this.statements.query(`SAVEPOINT ${name}`);
    try {
      const result = await work(this);
      await this.statements.query(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (error) {
      await this.statements.query(`ROLLBACK TO SAVEPOINT ${name}`);
      throw translateDbError(error);
    }
  }
}

/** Where units of work start: one transaction on one connection of the pool. */
export class EventStore {
  constructor(private readonly db: DbClient) {}

  /** Runs `work` in one transaction, committed if it resolves; any failure comes out translated (see UnitOfWork). */
  async transaction<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    const client = await translated(() => this.db.connect());
    let broken: Error | undefined;
    // A connection lost while checked out (Postgres stopped) emits 'error' on the client; unheard,
    // that would crash the worker. The failing query rejects anyway; the client is then discarded.
    const onError = (error: Error) => {
      broken = error;
    };
    client.on('error', onError);
    try {
      // Before BEGIN: a staging table created inside the transaction would go with its rollback.
      await prepareEventsStaging(client);
      await client.query('BEGIN');
      const result = await work(new UnitOfWork(new ConnectionStatements(client)));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError; // the connection is gone: do not give it back to the pool
      });
      throw translateDbError(error);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }
}
