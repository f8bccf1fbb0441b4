import { settings, type Config } from '@evt/config';
import { createDbClient, SourcesRepository, type DbClient, type Source } from '@evt/db';
import { NotConfirmedError, UsageError, type FailureContext, type Service } from '../errors';
import type { Output } from '../output';

/** The options every command takes (evt --help lists them). */
export interface GlobalOptions {
  json: boolean;
  /** Seconds to wait for Postgres or Redis to accept a connection. */
  timeout: number;
  /** Seconds a Postgres statement may run (0: no limit). */
  statementTimeout: number;
}

/**
 * What a command runs with: its settings (each read from the environment on first use, so a
 * command reads only those it needs), the connections it opens (on first use; closed by run), its
 * output, and the global options.
 */
export class CommandContext implements FailureContext {
  readonly settings: Config;
  options: GlobalOptions = { json: false, timeout: 5, statementTimeout: 60 };
  /** The services the running command talks to, first first; says where a connection error came from. */
  services: Service[] = ['Postgres'];
  private client: DbClient | undefined;

  constructor(
    env: Record<string, string | undefined>,
    readonly output: Output,
  ) {
    this.settings = settings(env);
  }

  get json(): boolean {
    return this.options.json;
  }

  get connectTimeoutMs(): number {
    return this.options.timeout * 1000;
  }

  get statementTimeoutMs(): number {
    return this.options.statementTimeout * 1000;
  }

  url(service: Service): string | undefined {
    try {
      return service === 'Postgres' ? this.settings.databaseUrl : this.settings.redisUrl;
    } catch {
      return undefined;
    }
  }

  /** The database, connected on first use (DATABASE_URL). */
  db(): DbClient {
    this.client ??= createDbClient(this.settings.databaseUrl, {
      max: 1,
      applicationName: 'evt-cli',
      connectTimeoutMs: this.connectTimeoutMs,
      statementTimeoutMs: this.statementTimeoutMs,
    });
    return this.client;
  }

  /** Prints `value` as JSON with --json, else what `human` makes of it. */
  print(value: unknown, human: () => string): void {
    this.output.out(this.json ? JSON.stringify(value) : human());
  }

  /**
   * Goes on when `yes` (--yes) or when the operator answers y to `question` on the terminal;
   * otherwise throws NotConfirmedError (exit 3): `action` says what was not done.
   */
  async confirm(question: string, action: string, yes: boolean | undefined): Promise<void> {
    if (yes) return;
    if (!this.output.confirm) throw new NotConfirmedError(`${action} needs confirming: add --yes (stdin is not a terminal to ask on)`);
    if (!(await this.output.confirm(`${question} [y/N] `))) throw new NotConfirmedError(`not confirmed: nothing was changed`);
  }

  async close(): Promise<void> {
    await this.client?.close();
  }
}

/** The source named by id or name, or the usage error an admin reads. */
export async function requireSource(ctx: CommandContext, idOrName: string): Promise<Source> {
  const source = await new SourcesRepository(ctx.db().db).find(idOrName);
  if (!source) throw new UsageError(`no source with id or name "${idOrName}"`);
  return source;
}

/** The id of the source `--source` names, when given. */
export async function sourceIdOf(ctx: CommandContext, idOrName: string | undefined): Promise<string | undefined> {
  return idOrName !== undefined ? (await requireSource(ctx, idOrName)).id : undefined;
}
