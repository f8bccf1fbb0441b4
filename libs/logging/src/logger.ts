import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Anything that could carry a secret is redacted at the source,
 * so a write key or token never reaches a log line whatever a caller passes in.
 */
export function createLogger(name: string, level = 'info'): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid, service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'writeKey',
        '*.writeKey',
        'token',
        '*.token',
        'authorization',
        '*.authorization',
        'headers.authorization',
        'req.headers.authorization',
        'headers["x-internal-token"]',
        'req.headers["x-internal-token"]',
        'redisUrl',
        'databaseUrl',
      ],
      censor: '[redacted]',
    },
  });
}
