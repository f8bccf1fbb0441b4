import { AppError, PermanentError, ServiceUnavailableError } from '@evt/errors';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EHOSTUNREACH', 'EAI_AGAIN']);

/** The SQLSTATE or socket error code of a driver error, looking through drizzle's wrapper. */
export function sqlState(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 4; current = (current as { cause?: unknown }).cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * Translates a driver error once, where the driver is called: data errors (SQLSTATE classes 22
 * and 23) can never succeed on retry; anything else (connection lost, server starting or
 * shutting down, deadlock, missing migration) may, and is retried.
 */
export function translateDbError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const code = sqlState(error);
  const root = (error as { cause?: unknown } | null)?.cause ?? error;
  const message = root instanceof Error ? root.message : String(root);
  if (typeof code === 'string' && /^2[23]/.test(code)) return new PermanentError(`database rejected the data: ${message}`, { cause: error });
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return new ServiceUnavailableError(`database unreachable: ${message}`, { cause: error });
  return new ServiceUnavailableError(`database error: ${message}`, { cause: error });
}
