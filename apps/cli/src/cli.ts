import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '@evt/config';
import { createDbClient, type DbClient } from '@evt/db';
import { destinationsCommand } from './commands/destinations';
import { eventsCommand } from './commands/events';
import { audiencesCommand, retlCommand } from './commands/internal-data';
import { dbCommand, queuesCommand } from './commands/operations';
import { rejectedCommand } from './commands/rejected';
import { sourcesCommand } from './commands/sources';
import { workspacesCommand } from './commands/workspaces';
import type { CommandContext } from './commands/context';
import { processOutput, UsageError, type Output } from './output';

export const USAGE = `usage: npm run cli -- <command> [options]

  db migrate                         apply database migrations
  workspaces create --name N         create a workspace
  workspaces list                    list workspaces
  sources create --workspace W --name N [--kind event_stream|webhook|replay|retl|extract]
                 [--original-source ID] [--rate-limit EVENTS [--rate-limit-window SECONDS]]
  sources list [--workspace W]       list sources with their write keys
  sources disable|enable SOURCE      stop or resume accepting a source's events
  sources rotate-key SOURCE          replace a source's write key
  sources rate-limit SOURCE --events N [--window SECONDS] | --off
  destinations add --source S --name N     a destination of a rETL source
  destinations list [--source S] | disable|enable DESTINATION
  audiences list [--source S]        audience lists with their member counts
  audiences members --source S --audience A
  retl list [--source S] [--destination D] [--limit N]   rETL records, newest first
  rejected list [--source S] [--limit N]   what was refused, newest first
  rejected retry [ID…] [--source S]  validate rejected events again; enqueue those that pass now
  events partitions                  the partitions of events: ranges of receivedAt, estimated rows
  events prune --older-than 90d [--dry-run]   drop the partitions of events that end that long ago (Nd or Nh)
  events tail [--source S] [--type T]   print events as the workers store them (--json: NDJSON), until Ctrl-C
  queues depth                       jobs waiting, active, delayed and failed per queue
  queues failed [--queue Q] [--limit N]    jobs that failed for good, with attempts and reason
  queues retry-failed [--queue Q] [ID…]    move failed jobs back to waiting (their count of failures reset)
  queues discard-failed --yes [--queue Q] [ID…]   delete failed jobs and what they carry

  --json prints machine-readable JSON on stdout and nothing else.
  Settings come from DATABASE_URL and REDIS_URL (defaults: the local servers).`;

const COMMANDS: Record<string, (action: string | undefined, ctx: CommandContext) => Promise<void>> = {
  db: dbCommand,
  workspaces: workspacesCommand,
  sources: sourcesCommand,
  rejected: rejectedCommand,
  destinations: destinationsCommand,
  audiences: audiencesCommand,
  retl: retlCommand,
  queues: queuesCommand,
  events: eventsCommand,
};

/** Runs one CLI command; returns the exit code (0 done, 1 failed, 2 wrong usage). */
export async function run(argv: string[], env: Record<string, string | undefined> = process.env, output: Output = processOutput): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        off: { type: 'boolean' },
        name: { type: 'string' },
        workspace: { type: 'string' },
        kind: { type: 'string' },
        'original-source': { type: 'string' },
        'rate-limit': { type: 'string' },
        'rate-limit-window': { type: 'string' },
        source: { type: 'string' },
        limit: { type: 'string' },
        events: { type: 'string' },
        window: { type: 'string' },
        audience: { type: 'string' },
        destination: { type: 'string' },
        queue: { type: 'string' },
        yes: { type: 'boolean' },
        'older-than': { type: 'string' },
        'dry-run': { type: 'boolean' },
        type: { type: 'string' },
      },
    });
  } catch (error) {
    output.err(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [command, action, ...args] = parsed.positionals;
  if (parsed.values.help || !command) {
    output.out(USAGE);
    return command || parsed.values.help ? 0 : 2;
  }
  const handler = COMMANDS[command];
  if (!handler) {
    output.err(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }

  let client: DbClient | undefined;
  try {
    const config = loadConfig(env);
    const ctx: CommandContext = {
      config,
      db: () => (client ??= createDbClient(config.databaseUrl, { max: 1, applicationName: 'evt-cli' })),
      output,
      args,
      flags: parsed.values,
    };
    await handler(action, ctx);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      output.err(`error: ${error.message}`);
      return 2;
    }
    output.err(error instanceof ConfigError ? `configuration error: ${error.message}` : `error: ${(error as Error).message}`);
    return 1;
  } finally {
    await client?.close();
  }
}
