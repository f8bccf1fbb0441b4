import type { SourceConfig } from '@evt/db';
import { sameSecret, secretDigest } from '@evt/ingest';
import type { Logger } from '@evt/logging';

// More sources than this sending within one refresh interval take the digest path for the rest.
const MAX_MATCHED_KEYS = 10_000;

interface Entry {
  config: SourceConfig;
  digest: Buffer;
}

/**
 * Every source's configuration, in memory, reloaded in the background: a new, disabled or
 * rotated write key takes effect within one refresh interval, with no database query per request.
 * Write keys are looked up by their SHA-256 and then compared in constant time; a key that matched
 * is remembered until the next refresh, so a source's next requests skip the digest.
 */
export class SourceRegistry {
  private byKeyDigest = new Map<string, Entry>();
  private byId = new Map<string, SourceConfig>();
  /** Write keys that matched since the last refresh (only those: an unknown key always takes the digest path). */
  private matched = new Map<string, SourceConfig>();
  private loadedOnce = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly load: () => Promise<SourceConfig[]>,
    private readonly refreshMs: number,
    private readonly logger: Logger,
  ) {}

  /** False until the first load has succeeded: until then nobody can be authenticated. */
  get loaded(): boolean {
    return this.loadedOnce;
  }

  /** Loads once (retrying in the background if that fails), then refreshes every `refreshMs`. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async refresh(): Promise<void> {
    try {
      const configs = await this.load();
      const byKeyDigest = new Map<string, Entry>();
      const byId = new Map<string, SourceConfig>();
      for (const config of configs) {
        const digest = secretDigest(config.writeKey);
        byKeyDigest.set(digest.toString('base64'), { config, digest });
        byId.set(config.id, config);
      }
      this.byKeyDigest = byKeyDigest;
      this.byId = byId;
      this.matched = new Map();
      this.loadedOnce = true;
    } catch (error) {
      // Keep serving the last known configuration; Postgres being away must not stop ingestion.
      this.logger.warn({ err: (error as Error).message }, 'could not refresh source configuration');
    }
  }

  byWriteKey(writeKey: string): SourceConfig | undefined {
    const remembered = this.matched.get(writeKey);
    if (remembered !== undefined) return remembered;
    const key = secretDigest(writeKey);
    const entry = this.byKeyDigest.get(key.toString('base64'));
    if (!entry || !sameSecret(key, entry.digest)) return undefined;
    if (this.matched.size < MAX_MATCHED_KEYS) this.matched.set(writeKey, entry.config);
    return entry.config;
  }

  bySourceId(sourceId: string): SourceConfig | undefined {
    return this.byId.get(sourceId);
  }
}
