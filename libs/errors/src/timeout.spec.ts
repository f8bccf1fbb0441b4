import { isTransient, ServiceUnavailableError } from './app-error';
import { TimeoutError, withTimeout } from './timeout';

describe('withTimeout', () => {
  afterEach(() => jest.useRealTimers());

  it("passes on the promise's value or failure when it settles in time", async () => {
    await expect(withTimeout(Promise.resolve(42), 1000, 'slow')).resolves.toBe(42);
    const failure = new Error('boom');
    await expect(withTimeout(Promise.reject(failure), 1000, 'slow')).rejects.toBe(failure);
  });

  it('rejects with a TimeoutError carrying the message once the time has passed', async () => {
    jest.useFakeTimers();
    const late = withTimeout(new Promise(() => undefined), 50, 'queue too slow');
    const settled = late.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    jest.advanceTimersByTime(49);
    await Promise.resolve();
    jest.advanceTimersByTime(1);
    const error = await settled;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error).toMatchObject({ name: 'TimeoutError', reason: 'queue too slow', timeoutMs: 50, status: 503, publicMessage: 'Service unavailable' });
    expect(isTransient(error)).toBe(true);
  });

  it('clears its timer when the promise settles first, and a late failure is not left unhandled', async () => {
    jest.useFakeTimers();
    await withTimeout(Promise.resolve('fast'), 1000, 'slow');
    expect(jest.getTimerCount()).toBe(0);

    let fail: (error: Error) => void = () => undefined;
    const slow = new Promise<never>((_resolve, reject) => (fail = reject));
    const timedOut = withTimeout(slow, 10, 'slow').catch((error: unknown) => error);
    jest.advanceTimersByTime(10);
    expect(await timedOut).toBeInstanceOf(TimeoutError);
    fail(new Error('too late'));
    await Promise.resolve();
  });
});
