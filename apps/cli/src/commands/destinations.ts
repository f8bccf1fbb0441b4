import type { Command } from 'commander';
import { DestinationsRepository } from '@evt/db';
import { UsageError } from '../errors';
import { reads } from '../options';
import { table } from '../render';
import { requireSource, sourceIdOf, type CommandContext } from './context';

/** `destinations add|list|disable|enable`: destinations of rETL sources, what `X-Rudder-Destination-Id` is checked against. */
export function registerDestinations(program: Command, ctx: CommandContext): void {
  const destinations = program.command('destinations').description('the destinations of rETL sources');

  reads(
    destinations
      .command('add')
      .description('add a destination to a rETL source')
      .requiredOption('--source <source>', 'the source (id or name)')
      .requiredOption('--name <name>', 'its name')
      .action(async (options: { source: string; name: string }) => {
        const source = await requireSource(ctx, options.source);
        const destination = await new DestinationsRepository(ctx.db().db).add(source.id, options.name);
        ctx.print(
          { id: destination.id, sourceId: destination.sourceId, name: destination.name },
          () => `created destination ${destination.name} (id ${destination.id})`,
        );
      }),
    'DATABASE_URL',
  );

  reads(
    destinations
      .command('list')
      .description('list destinations')
      .option('--source <source>', 'of this source only (id or name)')
      .action(async (options: { source?: string }) => {
        const rows = await new DestinationsRepository(ctx.db().db).list(await sourceIdOf(ctx, options.source));
        ctx.print(rows, () => table(rows, ['id', 'name', 'sourceId', 'enabled']));
      }),
    'DATABASE_URL',
  );

  for (const action of ['disable', 'enable'] as const) {
    reads(
      destinations
        .command(action)
        .description(action === 'disable' ? 'refuse the items sent to a destination (404)' : 'accept the items sent to a destination again')
        .argument('<destination>', 'its id')
        .action(async (id: string) => {
          const updated = await new DestinationsRepository(ctx.db().db).setEnabled(id, action === 'enable');
          if (!updated) throw new UsageError(`no destination with id "${id}"`);
          ctx.print({ id, enabled: updated.enabled }, () => `destination ${id} ${action}d`);
        }),
      'DATABASE_URL',
    );
  }
}
