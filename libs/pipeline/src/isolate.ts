import { PermanentError } from '@evt/errors';
import type { UnitOfWork } from '@evt/db';

/** An item the database refused, with the database's own words. */
export interface Refusal<T> {
  item: T;
  reason: string;
}

export interface Isolated<T, R> {
  /** What `write` returned for each part that was written. */
  written: R[];
  refused: Array<Refusal<T>>;
}

/** The database's message inside a PermanentError of libs/db ("database rejected the data: …"). */
export function databaseReason(error: PermanentError): string {
  return error.message.replace(/^database rejected the data: /, '');
}

/**
 * Writes `items`, isolating those the database refuses: a part that fails is halved, each half
 * in a savepoint of its own, down to single items. k refused items among n cost O(k log n)
 * statements instead of n. Failures other than a refusal of the data are thrown as they are.
 */
export async function writeIsolated<T, R>(uow: UnitOfWork, items: T[], write: (uow: UnitOfWork, part: T[]) => Promise<R>): Promise<Isolated<T, R>> {
  const result: Isolated<T, R> = { written: [], refused: [] };
  const attempt = async (part: T[]): Promise<void> => {
    if (part.length === 0) return;
    try {
      result.written.push(await uow.savepoint((inner) => write(inner, part)));
    } catch (error) {
      // The unit of work has translated it: only a refusal of the data is isolated.
      if (!(error instanceof PermanentError)) throw error;
      if (part.length === 1) {
        result.refused.push({ item: part[0], reason: databaseReason(error) });
        return;
      }
      const middle = Math.ceil(part.length / 2);
      await attempt(part.slice(0, middle));
      await attempt(part.slice(middle));
    }
  };
  await attempt(items);
  return result;
}
