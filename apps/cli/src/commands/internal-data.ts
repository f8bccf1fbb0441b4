import type { Command } from 'commander';
import { InternalDataRepository } from '@evt/db';
import { limitOption, reads } from '../options';
import { table } from '../render';
import { requireSource, sourceIdOf, type CommandContext } from './context';

/** `audiences list|members` and `retl list`: what the internal API stored. */
export function registerInternalData(program: Command, ctx: CommandContext): void {
  const audiences = program.command('audiences').description('audience lists and their members');

  reads(
    audiences
      .command('list')
      .description('audience lists with their member counts')
      .option('--source <source>', 'of this source only (id or name)')
      .action(async (options: { source?: string }) => {
        const rows = await new InternalDataRepository(ctx.db().db).audiences(await sourceIdOf(ctx, options.source));
        ctx.print(rows, () => table(rows, ['sourceId', 'audienceId', 'members', 'removed', 'updatedAt']));
      }),
    'DATABASE_URL',
  );

  reads(
    audiences
      .command('members')
      .description('the members of an audience list')
      .requiredOption('--source <source>', 'the source (id or name)')
      .requiredOption('--audience <audience>', 'the audience list (id)')
      .addOption(limitOption(100))
      .action(async (options: { source: string; audience: string; limit: number }) => {
        const source = await requireSource(ctx, options.source);
        const rows = await new InternalDataRepository(ctx.db().db).members(source.id, options.audience, options.limit);
        ctx.print(rows, () => table(rows, ['member', 'messageId', 'updatedAt']));
      }),
    'DATABASE_URL',
  );

  const retl = program.command('retl').description('rETL records');
  reads(
    retl
      .command('list')
      .description('the newest rETL records, deleted ones flagged')
      .option('--source <source>', 'of this source only (id or name)')
      .option('--destination <destination>', 'of this destination only (id)')
      .addOption(limitOption(50))
      .action(async (options: { source?: string; destination?: string; limit: number }) => {
        const rows = await new InternalDataRepository(ctx.db().db).retlRecords({
          sourceId: await sourceIdOf(ctx, options.source),
          destinationId: options.destination,
          limit: options.limit,
        });
        ctx.print(rows, () => table(rows, ['sourceId', 'destinationId', 'recordId', 'lastAction', 'deleted', 'fields', 'updatedAt']));
      }),
    'DATABASE_URL',
  );
}
