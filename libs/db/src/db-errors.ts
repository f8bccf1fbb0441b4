import { AppError, PermanentError, ServiceUnavailableError, UnexpectedError } from '@evt/errors';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EHOSTUNREACH', 'EAI_AGAIN', 'ENETUNREACH', 'ECONNABORTED']);

// SQLSTATEs that pass by themselves: the server is stopping, starting or out of a resource, or
// another transaction was in the way.
const TRANSIENT_STATES = new Set(['57P01', '57P02', '57P03', '40001', '40P01', '55P03']);

/** The dedup key of events: event_keys (source_id, message_id). Its conflicts are never a refusal of the data. */
export const DEDUP_CONSTRAINT = 'event_keys_pkey';

/** The SQLSTATE or socket error code of a driver error, looking through drizzle's wrapper. */
export function sqlState(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 4; current = (current as { cause?: unknown }).cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** The constraint a driver error names (unique, check, foreign key), looking through drizzle's wrapper. */
export function constraintOf(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 4; current = (current as { cause?: unknown }).cause, depth++) {
    const constraint = (current as { constraint?: unknown }).constraint;
    if (typeof constraint === 'string') return constraint;
  }
  return undefined;
}

/** Whether `code` is a failure that waiting cures: the connection, the server's state or its resources. */
export function isTransientState(code: string): boolean {
  return NETWORK_CODES.has(code) || code.startsWith('08') || code.startsWith('53') || code.startsWith('58') || TRANSIENT_STATES.has(code);
}

/** Whether `code` says the data itself is refused (data exception, constraint, program limit such as an index row too large). */
export function isDataState(code: string, constraint?: string): boolean {
  if (code.startsWith('22') || code.startsWith('54')) return true;
  return code.startsWith('23') && constraint !== DEDUP_CONSTRAINT;
}

/**
 * Translates a driver error once, where the driver is called. Transient failures (connection
 * lost, server stopping or out of resources, deadlock) become ServiceUnavailableError and are
 * retried without bound; the database refusing the data (classes 22, 23, 54) becomes
 * PermanentError, and the caller isolates the refused row; anything else (a missing table, a bug
 * of ours) becomes UnexpectedError: retried a bounded number of times, then failed for an operator.
 */
export function translateDbError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const code = sqlState(error);
  const root = (error as { cause?: unknown } | null)?.cause ?? error;
  const message = root instanceof Error ? root.message : String(root);
  if (code !== undefined && isTransientState(code)) return new ServiceUnavailableError(`database unavailable: ${message}`, { cause: error });
  if (code !== undefined && isDataState(code, constraintOf(error))) return new PermanentError(`database rejected the data: ${message}`, { cause: error });
  // pg reports a connection that went away mid-query as a plain Error without a code.
  if (
    code === undefined &&
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(message)
  ) {
    return new ServiceUnavailableError(`database unavailable: ${message}`, { cause: error });
  }
  return new UnexpectedError(`database error${code ? ` ${code}` : ''}: ${message}`, { cause: error });
}
