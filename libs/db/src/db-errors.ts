import { AppError, PermanentError, ServiceUnavailableError } from '@evt/errors';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EHOSTUNREACH', 'EAI_AGAIN']);

/**
 * Translates a driver error once, where the driver is called: data errors (SQLSTATE classes 22
 * and 23) can never succeed on retry; anything else (connection lost, server starting or
 * shutting down, deadlock, missing migration) may, and is retried.
 */
export function translateDbError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && /^2[23]/.test(code)) return new PermanentError(`database rejected the data: ${message}`, { cause: error });
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return new ServiceUnavailableError(`database unreachable: ${message}`, { cause: error });
  return new ServiceUnavailableError(`database error: ${message}`, { cause: error });
}
