import type { Config } from '@evt/config';
import { SourcesRepository, type DbClient, type Source } from '@evt/db';
import { UsageError, type Output } from '../output';

export interface CommandContext {
  config: Config;
  /** Opened on first use: `--help` and usage errors need no database. */
  db(): DbClient;
  output: Output;
  args: string[];
  flags: Record<string, string | boolean | undefined>;
}

/** The source named by id or name, or the usage error an admin reads. */
export async function requireSource(ctx: CommandContext, idOrName: string): Promise<Source> {
  const source = await new SourcesRepository(ctx.db().db).find(idOrName);
  if (!source) throw new UsageError(`no source with id or name "${idOrName}"`);
  return source;
}

/** The id of the source of `--source`, when given. */
export async function sourceIdFlag(ctx: CommandContext): Promise<string | undefined> {
  return ctx.flags.source ? (await requireSource(ctx, ctx.flags.source as string)).id : undefined;
}

/** `--limit N` (a whole number above 0), or 50. */
export function limitOf(ctx: CommandContext): number {
  const limit = ctx.flags.limit !== undefined ? Number(ctx.flags.limit) : 50;
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit takes a whole number above 0');
  return limit;
}
