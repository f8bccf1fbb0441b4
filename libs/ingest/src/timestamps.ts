export interface CorrectedTimes {
  /** The event's time on the server's clock. */
  timestamp: string;
  /** The client's own time, as it sent it; undefined when it sent none. */
  originalTimestamp: string | undefined;
}

/**
 * Date.parse, remembering the last string it read: the events of a batch share their sentAt, and
 * an SDK's events often their times. One memo per use, so that the two do not push each other out.
 */
class TimeReader {
  private last: string | undefined;
  private lastMs: number | undefined;

  parse(value: unknown): number | undefined {
    if (typeof value !== 'string') return undefined;
    if (value !== this.last) {
      const ms = Date.parse(value);
      this.last = value;
      this.lastMs = Number.isNaN(ms) ? undefined : ms;
    }
    return this.lastMs;
  }
}

const clientTimes = new TimeReader();
const sentAtTimes = new TimeReader();

/**
 * Corrects the client's clock skew: `timestamp = receivedAt − (sentAt − clientTime)`.
 * `clientTime` is `originalTimestamp`, or the client's `timestamp` when there is none (Segment).
 * Without both times the client time is kept, and without that `receivedAt` is used.
 */
export function correctTimestamp(input: {
  receivedAt: string;
  receivedAtMs: number;
  originalTimestamp?: unknown;
  timestamp?: unknown;
  sentAt?: unknown;
}): CorrectedTimes {
  const clientValue = typeof input.originalTimestamp === 'string' ? input.originalTimestamp : typeof input.timestamp === 'string' ? input.timestamp : undefined;
  const clientMs = clientTimes.parse(clientValue);
  const sentAtMs = sentAtTimes.parse(input.sentAt);
  if (clientMs !== undefined && sentAtMs !== undefined) {
    return { timestamp: new Date(input.receivedAtMs - (sentAtMs - clientMs)).toISOString(), originalTimestamp: clientValue };
  }
  return { timestamp: clientValue ?? input.receivedAt, originalTimestamp: clientValue };
}
