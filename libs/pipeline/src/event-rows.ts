import type { AliasRow, EventRow, GroupUpsert, UserUpsert } from '@evt/db';
import { idToString, isPlainObject } from '@evt/ingest';
import type { QueuedEvent } from '@evt/schemas';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Years 1 to 9999: what ISO 8601 writes without a sign, and Postgres reads.
const EARLIEST = new Date('0001-01-01T00:00:00.000Z').getTime();
const LATEST = new Date('9999-12-31T23:59:59.999Z').getTime();

/** An ISO time the database can store, or null for anything Date cannot read or Postgres cannot hold. */
export function isoOrNull(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) || ms < EARLIEST || ms > LATEST ? null : new Date(ms).toISOString();
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** The `events` row of an enriched event: the columns admins filter on, and the whole event as payload. */
export function toEventRow({ sourceId, workspaceId, event }: QueuedEvent): EventRow {
  return {
    workspaceId,
    sourceId,
    messageId: event.messageId,
    type: event.type,
    userId: idToString(event.userId) ?? null,
    anonymousId: idToString(event.anonymousId) ?? null,
    rudderId: UUID.test(event.rudderId) ? event.rudderId : null,
    event: stringOrNull(event.event),
    name: stringOrNull(event.name),
    receivedAt: isoOrNull(event.receivedAt) ?? new Date().toISOString(),
    sentAt: isoOrNull(event.sentAt),
    originalTimestamp: isoOrNull(event.originalTimestamp),
    timestamp: isoOrNull(event.timestamp),
    requestIp: stringOrNull(event.request_ip),
    payload: event,
  };
}

function eventTime(row: EventRow): string {
  return row.timestamp ?? row.receivedAt;
}

function traitsOf(value: unknown): Record<string, unknown> {
  return isPlainObject(value) ? value : {};
}

/**
 * Profile changes carried by newly stored events: identify → users, group → groups,
 * alias → aliases. Several events of one profile in a job are merged oldest first, and the
 * result is sorted by key so concurrent workers lock rows in the same order.
 */
export function profileChanges(rows: EventRow[]): { users: UserUpsert[]; groups: GroupUpsert[]; aliases: AliasRow[] } {
  const byTime = [...rows].sort((a, b) => eventTime(a).localeCompare(eventTime(b)));
  const users = new Map<string, UserUpsert>();
  const groups = new Map<string, GroupUpsert>();
  const aliases = new Map<string, AliasRow>();

  for (const row of byTime) {
    const payload = row.payload as Record<string, unknown>;
    const at = eventTime(row);
    if (row.type === 'identify' && row.userId) {
      const key = `${row.workspaceId}\u0000${row.userId}`;
      const traits = traitsOf(payload.traits ?? (isPlainObject(payload.context) ? payload.context.traits : undefined));
      const current = users.get(key);
      users.set(key, {
        workspaceId: row.workspaceId,
        userId: row.userId,
        anonymousId: row.anonymousId ?? current?.anonymousId ?? null,
        traits: { ...current?.traits, ...traits },
        firstSeenAt: current?.firstSeenAt ?? at,
        lastSeenAt: at,
        lastMessageId: row.messageId,
      });
    } else if (row.type === 'group') {
      const groupId = idToString(payload.groupId);
      if (!groupId) continue;
      const key = `${row.workspaceId}\u0000${groupId}`;
      const current = groups.get(key);
      groups.set(key, {
        workspaceId: row.workspaceId,
        groupId,
        traits: { ...current?.traits, ...traitsOf(payload.traits) },
        lastUserId: row.userId ?? current?.lastUserId ?? null,
        firstSeenAt: current?.firstSeenAt ?? at,
        lastSeenAt: at,
      });
    } else if (row.type === 'alias') {
      const previousId = idToString(payload.previousId);
      const userId = row.userId ?? row.anonymousId;
      if (!previousId || !userId) continue;
      aliases.set(`${row.workspaceId}\u0000${previousId}\u0000${userId}`, {
        workspaceId: row.workspaceId,
        previousId,
        userId,
        messageId: row.messageId,
        aliasedAt: at,
      });
    }
  }
  const sorted = <T>(map: Map<string, T>) => [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, value]) => value);
  return { users: sorted(users), groups: sorted(groups), aliases: sorted(aliases) };
}
