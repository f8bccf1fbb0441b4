/**
 * Exit codes, as `evt --help` and docs/cli.md tell them: 0 done; 1 failed (a fault: a service
 * unreachable, a timeout, a server error; trying again later may help); 2 wrong usage (a bad
 * option or argument, an unknown source or workspace, a name taken, a bad setting: fix the
 * command); 3 not confirmed (a destructive command without --yes and nobody to ask, or the
 * answer was no: nothing was changed).
 */
export const EXIT = { done: 0, failed: 1, usage: 2, notConfirmed: 3 } as const;

/** A wrong command line or an argument naming nothing that exists: exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A destructive command that was not confirmed: nothing was changed, exit 3. */
export class NotConfirmedError extends Error {
  override readonly name = 'NotConfirmedError';
}

export type Service = 'Postgres' | 'Redis';

/** What describeFailure needs to know of the command that failed. */
export interface FailureContext {
  /** The services the command talks to, the one it talks to first first. */
  services: Service[];
  url(service: Service): string | undefined;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
}

export interface Failure {
  /** One line, without SQL, parameters or secrets. */
  message: string;
  exitCode: number;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED']);
// pg's Pool and Client word a connect timeout differently (the Client: `timeout expired`, as migrations connect).
const POSTGRES_CONNECT_TIMEOUT = /timeout exceeded when trying to connect|Connection terminated due to connection timeout|^timeout expired$/i;

interface DriverError {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  severity?: unknown;
  constraint?: unknown;
  port?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** The error and its causes, outermost first (drizzle wraps pg's error as `cause`). */
function chainOf(error: unknown): DriverError[] {
  const chain: DriverError[] = [];
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 5; current = (current as DriverError).cause, depth++) {
    chain.push(current as DriverError);
  }
  return chain;
}

/** Postgres's own answer in a driver error (SQLSTATE, constraint, message), looking through drizzle's wrapper. */
export function postgresErrorOf(error: unknown): { code: string; constraint?: string; message: string } | undefined {
  const found = chainOf(error).find((link) => typeof link.severity === 'string' && typeof link.code === 'string');
  if (!found) return undefined;
  return { code: found.code as string, constraint: typeof found.constraint === 'string' ? found.constraint : undefined, message: String(found.message) };
}

/** A URL without its password, query or fragment: `postgres://user@host:5432/db`. */
export function redactUrl(url: string): string {
  return url.replace(/[?#].*$/, '').replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i, (_, scheme: string, credentials: string) => {
    const user = credentials.split(':')[0];
    return user ? `${scheme}${user}@` : scheme;
  });
}

const portsOf = (url: string | undefined, fallback: string): string[] =>
  url === undefined ? [] : [...url.replace(/^[^/]*\/\/[^@/]*@/, '').matchAll(/:(\d+)/g)].map((match) => match[1]).concat(/:\d+/.test(url) ? [] : [fallback]);

/** Which service a failure came from: by its shape, by the port it names, or else the command's first. */
function serviceOf(chain: DriverError[], context: FailureContext): Service {
  if (context.services.length === 1) return context.services[0];
  if (chain.some((link) => link.name === 'DrizzleQueryError' || typeof link.severity === 'string' || POSTGRES_CONNECT_TIMEOUT.test(String(link.message))))
    return 'Postgres';
  if (chain.some((link) => /redis/i.test(String(link.message)))) return 'Redis';
  const port = chain.map((link) => (link.port !== undefined ? String(link.port) : /:(\d+)$/.exec(String(link.message))?.[1])).find(Boolean);
  if (port !== undefined) {
    const redis = portsOf(context.url('Redis'), '6379').includes(port);
    const postgres = portsOf(context.url('Postgres'), '5432').includes(port);
    if (redis !== postgres) return redis ? 'Redis' : 'Postgres';
  }
  return context.services[0] ?? 'Postgres';
}

/** Why a connection failed, in a few words: `connect ECONNREFUSED 127.0.0.1:1`, or the code alone. */
function networkCause(chain: DriverError[], context: FailureContext): string | undefined {
  for (const link of chain) {
    const message = String(link.message ?? '');
    if (POSTGRES_CONNECT_TIMEOUT.test(message) || /not ready within/i.test(message)) return `no answer within ${context.connectTimeoutMs / 1000} s`;
    if (typeof link.code === 'string' && NETWORK_CODES.has(link.code)) return message.trim() || link.code;
    // Several addresses tried (localhost: ::1 and 127.0.0.1): Node reports an AggregateError of them.
    if (Array.isArray(link.errors) && link.errors.length > 0) {
      const first = link.errors[0] as DriverError;
      if (typeof first.code === 'string' && NETWORK_CODES.has(first.code)) return String(first.message ?? first.code);
    }
  }
  return undefined;
}

/** The first line of `text`, drizzle's `Failed query: … params: …` (SQL and values) never. */
function firstLine(text: string): string {
  if (/Failed query:|params:/.test(text)) return 'a database query failed';
  return text.split('\n')[0].trim() || 'failed';
}

function postgresFailure(pg: { code: string; constraint?: string; message: string }, at: string, context: FailureContext): Failure {
  const { code, message } = pg;
  if (code === '23505') return { message: `already exists: ${message.replace(/^duplicate key value violates /, '')}`, exitCode: EXIT.usage };
  if (code.startsWith('23') || code.startsWith('22')) return { message: `Postgres refused the values: ${message}`, exitCode: EXIT.usage };
  if (code === '57014')
    return { message: `Postgres cancelled a statement after ${context.statementTimeoutMs / 1000} s (--statement-timeout)`, exitCode: EXIT.failed };
  if (code.startsWith('28') || code === '3D000' || code.startsWith('08') || code.startsWith('57P'))
    return { message: `Postgres at ${at} refused: ${message}`, exitCode: EXIT.failed };
  if (code === '42P01') return { message: `Postgres: ${message} (is the database migrated? evt db migrate)`, exitCode: EXIT.failed };
  return { message: `Postgres: ${message} (SQLSTATE ${code})`, exitCode: EXIT.failed };
}

/** A command's failure as one line for the operator and its exit code. */
export function describeFailure(error: unknown, context: FailureContext): Failure {
  if (error instanceof UsageError) return { message: error.message, exitCode: EXIT.usage };
  if (error instanceof NotConfirmedError) return { message: error.message, exitCode: EXIT.notConfirmed };
  // A bad setting: fix the environment, as you would fix a flag.
  if ((error as Error | undefined)?.name === 'ConfigError') return { message: (error as Error).message, exitCode: EXIT.usage };
  const chain = chainOf(error);
  const service = serviceOf(chain, context);
  const url = context.url(service);
  const at = url ? redactUrl(url) : service;
  const unreachable = networkCause(chain, context);
  if (unreachable !== undefined) return { message: `cannot reach ${service} at ${at} (${unreachable})`, exitCode: EXIT.failed };
  const pg = postgresErrorOf(error);
  if (pg) return postgresFailure(pg, at, context);
  const root = chain.at(-1);
  return { message: firstLine(String(root?.message ?? error)), exitCode: EXIT.failed };
}
