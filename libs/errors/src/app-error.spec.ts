import {
  AppError,
  InvalidRequestError,
  isTransient,
  PayloadTooLargeError,
  PermanentError,
  RateLimitedError,
  ServiceUnavailableError,
  SourceRejectedError,
  UnauthorizedError,
  UnexpectedError,
} from './app-error';

describe('AppError family', () => {
  it('gives each client-facing error its status and exact answer text', () => {
    expect([new InvalidRequestError('batch is empty').status, new InvalidRequestError('batch is empty').publicMessage]).toEqual([
      400,
      'Invalid request: batch is empty',
    ]);
    expect([new PayloadTooLargeError().status, new PayloadTooLargeError().publicMessage]).toEqual([413, 'Request size too large']);
    expect([new UnauthorizedError('Invalid write key').status, new UnauthorizedError('Invalid write key').publicMessage]).toEqual([401, 'Invalid write key']);
    expect(new SourceRejectedError('Source is disabled').status).toBe(404);
    expect(new SourceRejectedError('Source does not accept webhook events').code).toBe('source_not_webhook');
    expect([new RateLimitedError(7).status, new RateLimitedError(7).retryAfterSeconds]).toEqual([429, 7]);
    const unavailable = new ServiceUnavailableError('redis down');
    expect([unavailable.status, unavailable.publicMessage, unavailable.retryAfterSeconds, unavailable.reason]).toEqual([
      503,
      'Service unavailable',
      1,
      'redis down',
    ]);
  });

  it('names each error after its class', () => {
    expect(new InvalidRequestError('x')).toBeInstanceOf(AppError);
    expect(new InvalidRequestError('x').name).toBe('InvalidRequestError');
  });
});

describe('isTransient', () => {
  it('is true only for errors that say a retry can help; unknown errors and bugs are not transient', () => {
    expect(isTransient(new ServiceUnavailableError('postgres down'))).toBe(true);
    expect(isTransient(new PermanentError('index row too large'))).toBe(false);
    expect(isTransient(new UnexpectedError('relation missing'))).toBe(false);
    expect(isTransient(new TypeError('x is undefined'))).toBe(false);
  });
});
