import type { Config } from '@evt/config';
import type { DbClient } from '@evt/db';
import type { Output } from '../output';

export interface CommandContext {
  config: Config;
  /** Opened on first use: `--help` and usage errors need no database. */
  db(): DbClient;
  output: Output;
  args: string[];
  flags: Record<string, string | boolean | undefined>;
}
