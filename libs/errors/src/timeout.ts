import { ServiceUnavailableError } from './app-error';

/**
 * A bounded wait ran out. A dependency too slow to answer is one that is unavailable for now:
 * 503 to a client, transient to a worker, and `reason` says what was waited for.
 */
export class TimeoutError extends ServiceUnavailableError {
  constructor(
    reason: string,
    readonly timeoutMs: number,
  ) {
    super(reason);
  }
}

/**
 * `promise`'s outcome if it settles within `ms`, else a rejection with a `TimeoutError` whose
 * reason is `message`. The timer is cleared either way; `promise` itself is not cancelled (a late
 * rejection of it is handled here, so it is never unhandled).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(message, ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
