import pino from 'pino';
import { createLogger, type Logger } from './logger';

/**
 * The lines `logger` writes. pino's default destination writes to fd 1 with sonic-boom, not
 * through process.stdout.write, so the test replaces the write of the logger's own stream.
 */
function capture(logger: Logger): { lines: () => Array<Record<string, unknown>>; restore: () => void } {
  const stream = (logger as unknown as Record<symbol, { write(chunk: string): boolean }>)[pino.symbols.streamSym];
  const written: string[] = [];
  const spy = jest.spyOn(stream, 'write').mockImplementation((chunk: string) => {
    written.push(chunk);
    return true;
  });
  return { lines: () => written.map((line) => JSON.parse(line) as Record<string, unknown>), restore: () => spy.mockRestore() };
}

describe('createLogger', () => {
  let logger: Logger;
  let output: ReturnType<typeof capture>;

  beforeEach(() => {
    logger = createLogger('gateway');
    output = capture(logger);
  });

  afterEach(() => output.restore());

  it('writes one JSON line with the service name, level, ISO time and message', () => {
    logger.info({ route: '/v1/track' }, 'event accepted');
    const [line] = output.lines();
    expect(output.lines()).toHaveLength(1);
    expect(line).toEqual({
      level: 30,
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      pid: process.pid,
      service: 'gateway',
      name: 'gateway',
      route: '/v1/track',
      msg: 'event accepted',
    });
  });

  it('redacts a writeKey, token or authorization at the top level', () => {
    logger.info({ writeKey: 'wk-secret', token: 'tk-secret', authorization: 'Basic d2stc2VjcmV0Og==' }, 'auth');
    expect(output.lines()[0]).toMatchObject({ writeKey: '[redacted]', token: '[redacted]', authorization: '[redacted]' });
  });

  it('redacts a writeKey, token or authorization one level down', () => {
    logger.info(
      { source: { id: 's1', writeKey: 'wk-secret', token: 'tk-secret' }, headers: { authorization: 'Basic abc', 'x-internal-token': 'it-secret' } },
      'auth',
    );
    expect(output.lines()[0]).toMatchObject({
      source: { id: 's1', writeKey: '[redacted]', token: '[redacted]' },
      headers: { authorization: '[redacted]', 'x-internal-token': '[redacted]' },
    });
  });

  it('redacts the authorization and internal token headers of a logged request', () => {
    logger.warn(
      { req: { method: 'POST', headers: { authorization: 'Basic abc', 'x-internal-token': 'it-secret', 'content-type': 'application/json' } } },
      'refused',
    );
    expect(output.lines()[0].req).toEqual({
      method: 'POST',
      headers: { authorization: '[redacted]', 'x-internal-token': '[redacted]', 'content-type': 'application/json' },
    });
  });

  it('redacts connection URLs, which hold passwords', () => {
    logger.info({ redisUrl: 'redis://:pw@cache:6379', databaseUrl: 'postgres://app:pw@db/events' }, 'config');
    expect(output.lines()[0]).toMatchObject({ redisUrl: '[redacted]', databaseUrl: '[redacted]' });
  });

  it('never writes the secret text itself', () => {
    logger.error({ writeKey: 'wk-secret', source: { writeKey: 'wk-secret' }, req: { headers: { authorization: 'wk-secret' } } }, 'failure');
    expect(output.lines()).toHaveLength(1);
    expect(JSON.stringify(output.lines())).not.toContain('wk-secret');
  });

  it('redacts secrets nested two levels down', () => {
    logger.info({ source: { config: { writeKey: 'wk-deep', token: 't-deep' } } }, 'nested');
    expect(output.lines()[0]).toMatchObject({ source: { config: { writeKey: '[redacted]', token: '[redacted]' } } });
  });

  it('writes nothing below its level', () => {
    const quiet = createLogger('worker', 'warn');
    const quietOutput = capture(quiet);
    try {
      quiet.info('not written');
      quiet.warn('written');
      expect(quietOutput.lines().map((line) => [line.level, line.msg, line.service])).toEqual([[40, 'written', 'worker']]);
    } finally {
      quietOutput.restore();
    }
  });
});
