/**
 * The one error shape of the product: a stable `code`, the HTTP `status` a client sees,
 * the short `publicMessage` it reads, and whether trying again can help (`retriable`).
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    readonly publicMessage: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(publicMessage, options);
    this.name = new.target.name;
  }
}

/** The client sent something we will never accept (400). */
export class InvalidRequestError extends AppError {
  constructor(reason: string) {
    super('invalid_request', 400, `Invalid request: ${reason}`, false);
  }
}

/** The body is not JSON, or its compression is corrupt (400). */
export class InvalidJsonError extends AppError {
  constructor(options?: { cause?: unknown }) {
    super('invalid_json', 400, 'Invalid JSON', false, options);
  }
}

/** The body, after inflation, is larger than allowed (413). */
export class PayloadTooLargeError extends AppError {
  constructor() {
    super('payload_too_large', 413, 'Request size too large', false);
  }
}

/** Credentials are missing, unparsable or unknown (401). */
export class UnauthorizedError extends AppError {
  constructor(message: 'Invalid Authorization Header' | 'Invalid write key' | 'Invalid source id') {
    super('unauthorized', 401, message, false);
  }
}

/** The source exists but must not receive this request (404). */
export class SourceRejectedError extends AppError {
  constructor(message: 'Source is disabled' | 'Source does not accept webhook events' | 'Destination is disabled') {
    const codes = {
      'Source is disabled': 'source_disabled',
      'Source does not accept webhook events': 'source_not_webhook',
      'Destination is disabled': 'destination_disabled',
    };
    super(codes[message], 404, message, false);
  }
}

/** The client closed its connection before its body was read: nobody will read an answer (499, as nginx logs it). */
export class ClientGoneError extends AppError {
  constructor() {
    super('client_gone', 499, 'Client closed request', true);
  }
}

/** Per-source rate limit reached (429); `retryAfterSeconds` goes into `Retry-After`. */
export class RateLimitedError extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', 429, 'Too many requests', true);
  }
}

/** A dependency of ours (Redis, Postgres) is down, slow, or we are stopping (503). */
export class ServiceUnavailableError extends AppError {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super('service_unavailable', 503, 'Service unavailable', true, options);
    this.retryAfterSeconds = options?.retryAfterSeconds ?? 1;
  }
  readonly retryAfterSeconds: number;
}

/** A stored record or job that can never be processed; it becomes a rejected event. */
export class PermanentError extends AppError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('permanent_failure', 500, reason, false, options);
  }
}

/**
 * Something that should not happen and that waiting does not cure (a missing table, a bug of
 * ours): a worker retries it a bounded number of times, then fails the job for an operator.
 */
export class UnexpectedError extends AppError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('unexpected', 500, reason, false, options);
  }
}

/** True for a failure that passes by itself (a dependency down or busy): worth retrying without bound. */
export function isTransient(error: unknown): boolean {
  return error instanceof AppError && error.retriable;
}
