import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Fields that carry secrets (writeKey, token, authorization, connection
 * URLs) are redacted at the source, up to two levels deep, whatever a caller passes in.
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
        '*.*.writeKey',
        'token',
        '*.token',
        '*.*.token',
        'authorization',
        '*.authorization',
        '*.*.authorization',
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
