import { Option, type Command } from 'commander';
import { SOURCE_KINDS, SourcesRepository, WorkspacesRepository, type Source, type SourceKind } from '@evt/db';
import { postgresErrorOf, UsageError } from '../errors';
import { reads, wholeNumber, yesOption } from '../options';
import { maskSecret, table } from '../render';
import { requireSource, type CommandContext } from './context';

/** What `sources create` and `rotate-key` print: the new write key in full, which is their point. */
function created(source: Source) {
  return { id: source.id, writeKey: source.writeKey, workspaceId: source.workspaceId, kind: source.kind };
}

/** `sources create|list|disable|enable|rotate-key|rate-limit`. */
export function registerSources(program: Command, ctx: CommandContext): void {
  const sources = program.command('sources').description('create sources, list them, disable or enable them, rotate their write keys, limit their rate');

  reads(
    sources
      .command('create')
      .description('create a source and print its write key')
      .requiredOption('--workspace <workspace>', 'the workspace (id or name)')
      .requiredOption('--name <name>', 'its name, unique in the workspace')
      .addOption(new Option('--kind <kind>', 'what it receives').choices(SOURCE_KINDS).default('event_stream'))
      .option('--original-source <source>', 'a replay source: the source (id) whose events it replays, of the same workspace')
      .addOption(new Option('--rate-limit <events>', 'accept at most this many events per window').argParser(wholeNumber('--rate-limit')))
      .addOption(new Option('--rate-limit-window <seconds>', 'the window of --rate-limit').argParser(wholeNumber('--rate-limit-window')).default(60))
      .action(async (options: { workspace: string; name: string; kind: SourceKind; originalSource?: string; rateLimit?: number; rateLimitWindow: number }) => {
        if (options.kind === 'replay' && !options.originalSource) throw new UsageError('a replay source needs --original-source SOURCE_ID');
        const repository = new SourcesRepository(ctx.db().db);
        const workspace = await new WorkspacesRepository(ctx.db().db).find(options.workspace);
        if (!workspace) throw new UsageError(`no workspace with id or name "${options.workspace}"`);
        if (options.originalSource) {
          const original = await repository.find(options.originalSource);
          if (!original) throw new UsageError(`no source with id "${options.originalSource}"`);
          // Events never cross workspaces: the gateway refuses a replay of another workspace's source.
          if (original.workspaceId !== workspace.id)
            throw new UsageError(
              `source "${options.originalSource}" is in workspace ${original.workspaceId}: a replay source replays a source of its own workspace`,
            );
        }
        const source = await repository
          .create({
            workspaceId: workspace.id,
            name: options.name,
            kind: options.kind,
            originalSourceId: options.originalSource ?? null,
            rateLimitEvents: options.rateLimit ?? null,
            rateLimitWindowSeconds: options.rateLimitWindow,
          })
          .catch((error: unknown) => {
            // pg's error carries the INSERT's values, the new write key among them: say what clashed, nothing more.
            if (postgresErrorOf(error)?.constraint === 'sources_workspace_id_name_key')
              throw new UsageError(`a source named "${options.name}" already exists in workspace "${workspace.name}"`);
            throw error;
          });
        ctx.print(created(source), () => `created ${source.kind} source ${source.name} (id ${source.id})\nwrite key: ${source.writeKey}`);
      }),
    'DATABASE_URL',
  );

  reads(
    sources
      .command('list')
      .description('list sources, their write keys masked')
      .option('--workspace <workspace>', 'of this workspace only (id or name)')
      .option('--show-secrets', 'print the write keys in full')
      .action(async (options: { workspace?: string; showSecrets?: boolean }) => {
        const workspaces = await new WorkspacesRepository(ctx.db().db).list();
        let workspaceId: string | undefined;
        if (options.workspace !== undefined) {
          const workspace =
            workspaces.find((candidate) => candidate.id === options.workspace) ?? workspaces.find((candidate) => candidate.name === options.workspace);
          if (!workspace) throw new UsageError(`no workspace with id or name "${options.workspace}"`);
          workspaceId = workspace.id;
        }
        const rows = (await new SourcesRepository(ctx.db().db).list(workspaceId)).map((source) => ({
          ...source,
          writeKey: options.showSecrets ? source.writeKey : maskSecret(source.writeKey),
        }));
        const names = new Map(workspaces.map((workspace) => [workspace.id, workspace.name]));
        ctx.print(rows, () =>
          table(
            rows.map((row) => ({
              ...row,
              workspace: names.get(row.workspaceId) ?? row.workspaceId,
              rateLimit: row.rateLimitEvents !== null ? `${row.rateLimitEvents}/${row.rateLimitWindowSeconds}s` : '',
            })),
            ['id', 'name', 'kind', 'enabled', 'workspace', 'writeKey', 'rateLimit'],
          ),
        );
      }),
    'DATABASE_URL',
  );

  reads(
    sources
      .command('disable')
      .description('stop accepting the events of a source (the gateway answers 404)')
      .argument('<source>', 'id or name')
      .addOption(yesOption())
      .action(async (ref: string, options: { yes?: boolean }) => {
        const source = await requireSource(ctx, ref);
        await ctx.confirm(`Disable source ${source.name} (id ${source.id})? The gateway will refuse its events.`, 'sources disable', options.yes);
        const updated = await new SourcesRepository(ctx.db().db).setEnabled(source.id, false);
        ctx.print({ id: source.id, enabled: updated?.enabled ?? false }, () => `source ${source.id} disabled`);
      }),
    'DATABASE_URL',
  );

  reads(
    sources
      .command('enable')
      .description('accept the events of a source again')
      .argument('<source>', 'id or name')
      .action(async (ref: string) => {
        const source = await requireSource(ctx, ref);
        const updated = await new SourcesRepository(ctx.db().db).setEnabled(source.id, true);
        ctx.print({ id: source.id, enabled: updated?.enabled ?? true }, () => `source ${source.id} enabled`);
      }),
    'DATABASE_URL',
  );

  reads(
    sources
      .command('rotate-key')
      .description('replace the write key of a source and print the new one (the old one stops working)')
      .argument('<source>', 'id or name')
      .addOption(yesOption())
      .action(async (ref: string, options: { yes?: boolean }) => {
        const source = await requireSource(ctx, ref);
        await ctx.confirm(
          `Replace the write key of source ${source.name} (id ${source.id})? Clients sending with the old key will be refused.`,
          'sources rotate-key',
          options.yes,
        );
        const updated = await new SourcesRepository(ctx.db().db).rotateWriteKey(source.id);
        if (!updated) throw new UsageError(`source ${source.id} disappeared`);
        ctx.print(created(updated), () => `new write key for ${updated.id}: ${updated.writeKey}`);
      }),
    'DATABASE_URL',
  );

  reads(
    sources
      .command('rate-limit')
      .description('limit the events a source may send per window, or remove its limit')
      .argument('<source>', 'id or name')
      .addOption(new Option('--events <n>', 'events per window').argParser(wholeNumber('--events')).conflicts('off'))
      .addOption(new Option('--window <seconds>', 'the window').argParser(wholeNumber('--window')).default(60))
      .option('--off', 'remove the limit')
      .action(async (ref: string, options: { events?: number; window: number; off?: boolean }) => {
        if (!options.off && options.events === undefined) throw new UsageError('sources rate-limit needs --events N (or --off)');
        const source = await requireSource(ctx, ref);
        const events = options.off ? null : (options.events as number);
        await new SourcesRepository(ctx.db().db).setRateLimit(source.id, events, options.window);
        ctx.print({ id: source.id, rateLimitEvents: events, rateLimitWindowSeconds: options.window }, () =>
          events === null ? `rate limit of ${source.id} removed` : `rate limit of ${source.id}: ${events} events per ${options.window} s`,
        );
      }),
    'DATABASE_URL',
  );
}
