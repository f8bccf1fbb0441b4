import { PermanentError } from '@evt/errors';
import type { EventStore, RejectedRow, UnitOfWork } from '@evt/db';
import type { Logger } from '@evt/logging';
import { writeIsolated, type Refusal } from './isolate';
import type { JobRef } from './malformed-job';
import { insertRejectedIsolated } from './rejected-rows';

export interface IsolatingWrite<T, R> {
  store: EventStore;
  logger: Logger;
  /** The jobs the rows come from, for the log line. */
  jobs: JobRef[];
  /** The units the database may refuse one by one: events, folded records, audience lists. */
  rows: T[];
  /** The rejected_events rows of the jobs (the gateway's rejections, malformed items). */
  rejected: RejectedRow[];
  write: (uow: UnitOfWork, part: T[]) => Promise<R>;
  /** The rejected_events rows that keep refused units, with the database's reason. */
  refusedRows: (refusals: Array<Refusal<T>>) => RejectedRow[];
}

export interface IsolatedOutcome<R> {
  /** What `write` returned for each part written. */
  written: R[];
  /** How many units the database refused. */
  refused: number;
  /** How many rows went to rejected_events (the jobs' own and the refused units'). */
  rejected: number;
}

/**
 * Writes a job's rows and rejected rows in one transaction: the fast path, with no statement
 * more than the writes. If the database refuses something, writes them again in a second
 * transaction, bisecting in savepoints, so that every unit that can be stored is and each refused
 * one lands in rejected_events with the database's reason.
 */
export async function writeIsolating<T, R>(options: IsolatingWrite<T, R>): Promise<IsolatedOutcome<R>> {
  const { store, rows, rejected, write } = options;
  try {
    return await store.transaction(async (uow) => {
      const written = rows.length > 0 ? [await write(uow, rows)] : [];
      await uow.rejectedEvents.insert(rejected);
      return { written, refused: 0, rejected: rejected.length };
    });
  } catch (error) {
    // Translated by the unit of work: only a refusal of the data is worth isolating.
    if (!(error instanceof PermanentError)) throw error;
    options.logger.warn({ jobs: options.jobs.map((job) => `${job.queue}:${job.id}`), err: error.message }, 'the database refused a row; isolating it');
    return store.transaction(async (uow) => {
      const isolated = await writeIsolated(uow, rows, write);
      const refusedRows = options.refusedRows(isolated.refused);
      await insertRejectedIsolated(uow, [...rejected, ...refusedRows]);
      return { written: isolated.written, refused: isolated.refused.length, rejected: rejected.length + refusedRows.length };
    });
  }
}
