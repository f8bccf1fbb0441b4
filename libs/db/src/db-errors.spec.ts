import { PermanentError, ServiceUnavailableError, UnexpectedError } from '@evt/errors';
import { translateDbError } from './db-errors';

// What pg rejects with: an Error carrying the SQLSTATE (and the constraint, for class 23).
function pgError(code: string, message: string, constraint?: string): Error {
  return Object.assign(new Error(message), { code, constraint });
}

describe('translateDbError', () => {
  it.each([
    ['08006', 'connection failure'],
    ['57P01', 'terminating connection due to administrator command'],
    ['57P02', 'crash shutdown'],
    ['57P03', 'the database system is starting up'],
    ['53300', 'too many connections'],
    ['53200', 'out of memory'],
    ['40001', 'could not serialize access'],
    ['40P01', 'deadlock detected'],
    ['55P03', 'could not obtain lock'],
    ['58030', 'could not write file'],
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'],
  ])('calls %s transient (retried without bound)', (code, message) => {
    const translated = translateDbError(pgError(code, message));
    expect(translated).toBeInstanceOf(ServiceUnavailableError);
    expect(translated.retriable).toBe(true);
  });

  it.each([
    ['54000', 'index row size 5016 exceeds btree version 4 maximum 2704 for index "event_keys_pkey"'],
    ['22001', 'value too long'],
    ['22P05', 'unsupported Unicode escape sequence'],
    ['23514', 'violates check constraint "no_refused"'],
    ['23502', 'null value in column "user_id"'],
  ])('calls %s a refusal of the data (the job is split)', (code, message) => {
    const translated = translateDbError(pgError(code, message));
    expect(translated).toBeInstanceOf(PermanentError);
    expect(translated.message).toBe(`database rejected the data: ${message}`);
  });

  it('does not call the dedup conflict of events a refusal of the data', () => {
    expect(translateDbError(pgError('23505', 'duplicate key', 'event_keys_pkey'))).toBeInstanceOf(UnexpectedError);
    expect(translateDbError(pgError('23505', 'duplicate key', 'users_pkey'))).toBeInstanceOf(PermanentError);
  });

  it('calls anything else unexpected: neither transient nor data (bounded retries)', () => {
    const missing = translateDbError(pgError('42P01', 'relation "events_staging" does not exist'));
    expect(missing).toBeInstanceOf(UnexpectedError);
    expect([missing.retriable, missing.message]).toEqual([false, 'database error 42P01: relation "events_staging" does not exist']);
    expect(translateDbError(new TypeError('rows.map is not a function'))).toBeInstanceOf(UnexpectedError);
  });

  it('calls a connection pg lost mid-query transient', () => {
    expect(translateDbError(new Error('Connection terminated unexpectedly'))).toBeInstanceOf(ServiceUnavailableError);
  });

  it('looks through drizzle’s wrapper for the code', () => {
    const wrapped = new Error('Failed query: INSERT …', { cause: pgError('54000', 'index row size 5016 exceeds btree version 4 maximum 2704') });
    expect(translateDbError(wrapped)).toBeInstanceOf(PermanentError);
  });
});
