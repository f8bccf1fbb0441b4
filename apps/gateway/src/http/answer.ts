import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { AppError, PayloadTooLargeError, RateLimitedError, ServiceUnavailableError } from '@evt/errors';
import type { Logger } from '@evt/logging';

/** Writes a plain-text answer, the shape every RudderStack client expects. */
export function sendText(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(body);
}

// Under overload (a full backlog, Redis away) every request is a 503: one line per reason per interval, with how many it stands for.
const WARN_503_INTERVAL_MS = 10_000;
const last503Warning = new Map<string, { at: number; since: number }>();

function warnOf503(logger: Logger, reason: string): void {
  const now = Date.now();
  const last = last503Warning.get(reason);
  if (last !== undefined && now - last.at < WARN_503_INTERVAL_MS) {
    last.since++;
    return;
  }
  last503Warning.set(reason, { at: now, since: 0 });
  logger.warn(last === undefined || last.since === 0 ? { reason } : { reason, alsoAnsweredSinceLastLine: last.since }, 'answered 503');
}

/** Maps an error to its answer. The client reads a short reason, never a stack trace. */
export function answerError(res: ServerResponse, error: unknown, logger: Logger): void {
  if (res.headersSent) return;
  if (!(error instanceof AppError)) logger.error({ err: error }, 'unexpected error while handling a request');
  const appError = error instanceof AppError ? error : new ServiceUnavailableError('internal error');
  if (appError instanceof ServiceUnavailableError) {
    res.setHeader('Retry-After', String(appError.retryAfterSeconds));
    warnOf503(logger, appError.reason);
  }
  if (appError instanceof RateLimitedError) res.setHeader('Retry-After', String(appError.retryAfterSeconds));
  if (appError instanceof PayloadTooLargeError) closeAfterAnswer(res);
  sendText(res, appError.status, appError.publicMessage);
}

// How long a connection closed on a request left unread is kept before it is dropped.
const LINGER_MS = 2000;

/**
 * Closes the connection after the answer without resetting it (a lingering close, as nginx
 * does). Dropped at once, a connection the client is still uploading to is reset, and the
 * client's kernel may discard our 413 unread: the SDK sees a network error and retries the
 * same oversized batch forever. So our side sends FIN once the answer is out and leaves the
 * rest of the body unread (the client is held back by TCP, not buffered by us) until the
 * client closes, or LINGER_MS has passed.
 */
function lingerOnClose(socket: Socket): void {
  if (socket.destroySoon.name === 'lingeringClose') return;
  socket.destroySoon = function lingeringClose(this: Socket) {
    const destroy = () => this.destroy();
    const timer = setTimeout(destroy, LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    this.once('end', destroy);
    this.end();
  };
}

/** Closes the connection once this answer is sent, with a lingering close (the request body may be unread). */
export function closeAfterAnswer(res: ServerResponse): void {
  res.setHeader('Connection', 'close');
  if (res.socket) lingerOnClose(res.socket);
}
