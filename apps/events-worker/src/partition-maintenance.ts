import type { Config } from '@evt/config';
import { createDbClient, EventPartitionsRepository } from '@evt/db';
import type { Logger } from '@evt/logging';

const EVERY_MS = 3_600_000;
const RETRY_MS = 60_000;

/**
 * Keeps the partitions of `events` created ahead of time and the dedup keys within their window:
 * at start-up, then every hour (a minute after a failure). Every events worker runs it; an
 * advisory lock has one do the work at a time. Until it has run, events land in the default
 * partition, never refused. Its own connection: the pool of the group commits stays theirs.
 */
export function startPartitionMaintenance(config: Config, logger: Logger): void {
  const db = createDbClient(config.databaseUrl, { max: 1, applicationName: 'evt-events-worker-partitions' });
  const partitions = new EventPartitionsRepository(db);
  const settings = { interval: config.eventsPartitionInterval, ahead: config.eventsPartitionsAhead, dedupWindowDays: config.eventsDedupWindowDays };
  const run = async () => {
    let next = EVERY_MS;
    try {
      const result = await partitions.maintain(settings);
      if (result === undefined) logger.debug('events partitions: another worker is maintaining them');
      else if (result.created.length > 0 || result.expiredKeys > 0 || result.movedFromDefault > 0) {
        logger.info(
          {
            created: result.created.map(({ name, from, to }) => ({ name, from, to })),
            movedFromDefault: result.movedFromDefault,
            expiredKeys: result.expiredKeys,
          },
          'events partitions maintained',
        );
      }
    } catch (error) {
      logger.error({ err: (error as Error).message }, 'events partition maintenance failed; trying again in a minute');
      next = RETRY_MS;
    }
    setTimeout(() => void run(), next).unref();
  };
  void run();
}
