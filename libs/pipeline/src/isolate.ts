import { PermanentError } from '@evt/errors';
import { translateDbError, type EventStoreSession } from '@evt/db';

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

/** The database's message inside a PermanentError made by translateDbError. */
export function databaseReason(error: PermanentError): string {
  return error.message.replace(/^database rejected the data: /, '');
}

/**
 * Writes `items`, isolating those the database refuses: a part that fails is halved, each half
 * in a savepoint of its own, down to single items. k refused items among n cost O(k log n)
 * statements instead of n. Failures other than a refusal of the data are thrown as they are.
 */
export async function writeIsolated<T, R>(session: EventStoreSession, items: T[], write: (session: EventStoreSession, part: T[]) => Promise<R>): Promise<Isolated<T, R>> {
  const result: Isolated<T, R> = { written: [], refused: [] };
  const attempt = async (part: T[]): Promise<void> => {
    if (part.length === 0) return;
    try {
      result.written.push(await session.savepoint((inner) => write(inner, part)));
    } catch (error) {
      const translated = translateDbError(error);
      if (!(translated instanceof PermanentError)) throw translated;
      if (part.length === 1) {
        result.refused.push({ item: part[0], reason: databaseReason(translated) });
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
