import type { AudienceMemberWrite, EventStore, RejectedRow } from '@evt/db';
import type { Logger } from '@evt/logging';
import { isoOrNull, jsonSize, rejectionId, splitJob, writeIsolating, type Refusal } from '@evt/pipeline';
import { AUDIENCE_REMOVE_INDEX_BASE, AudienceListItem, QUEUES, Validator, type ItemOf } from '@evt/schemas';
import { contentKey } from './canonical';

const itemCheck = new Validator(AudienceListItem);

// A refused list is kept whole in rejected_events up to this size.
const MAX_KEPT_LIST_BYTES = 1024 * 1024;

export interface AudienceListOutcome {
  members: number;
  rejected: number;
}

/**
 * The member writes of a job, folded (the latest write of each member wins) and cut into one unit
 * per list (source, audience), in key order. A member's own key is a hash of fixed length and
 * its value unindexed jsonb: what the database can refuse is the list's key, so the list is
 * what is isolated, in O(k log n) statements for k refused lists among n.
 */
export function foldMemberWrites(lists: AudienceListItem[]): AudienceMemberWrite[][] {
  const latest = new Map<string, AudienceMemberWrite>();
  for (const list of [...lists].sort((a, b) => a.sequence - b.sequence)) {
    // A large list comes in several items of one sequence, removes possibly first: order by write order, not arrival.
    const addOffset = list.addOffset ?? 0;
    const removeOffset = AUDIENCE_REMOVE_INDEX_BASE + (list.removeOffset ?? 0);
    const writes = [
      ...list.add.map((member, i) => ({ member, present: true, index: addOffset + i })),
      ...list.remove.map((member, j) => ({ member, present: false, index: removeOffset + j })),
    ];
    writes.forEach(({ member, present, index }) => {
      const memberKey = contentKey(member);
      const key = JSON.stringify([list.sourceId, list.audienceId, memberKey]);
      const earlier = latest.get(key);
      if (earlier && earlier.sequence === list.sequence && earlier.sequenceIndex > index) return;
      latest.set(key, {
        sourceId: list.sourceId,
        audienceId: list.audienceId,
        memberKey,
        workspaceId: list.workspaceId,
        member,
        present,
        messageId: list.messageId,
        sequence: list.sequence,
        sequenceIndex: index,
      });
    });
  }
  const units: AudienceMemberWrite[][] = [];
  for (const [, row] of [...latest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const unit = units[units.length - 1];
    if (unit && unit[0].sourceId === row.sourceId && unit[0].audienceId === row.audienceId) unit.push(row);
    else units.push([row]);
  }
  return units;
}

/** The rejected_events rows of a refused list: one per request of the job that wrote to it, with the database's reason. */
function refusedListRows(lists: AudienceListItem[], { item, reason }: Refusal<AudienceMemberWrite[]>): RejectedRow[] {
  const { sourceId, audienceId } = item[0];
  return lists
    .filter((list) => list.sourceId === sourceId && list.audienceId === audienceId)
    .map((list) => {
      const size = jsonSize(list);
      return {
        // A large list comes in parts of one sequence: each part is its own record.
        id: rejectionId('refused', [
          list.sourceId,
          list.audienceId,
          list.messageId,
          String(list.sequence),
          String(list.addOffset ?? 0),
          String(list.removeOffset ?? 0),
        ]),
        workspaceId: list.workspaceId,
        sourceId: list.sourceId,
        reason: `database refused the audience list: ${reason}`,
        messageId: list.messageId,
        event: size <= MAX_KEPT_LIST_BYTES ? list : null,
        eventSize: size,
        receivedAt: isoOrNull(list.receivedAt) ?? new Date().toISOString(),
      };
    });
}

/**
 * A job of the `audiencelist` queue. Each request's adds come before its removes, requests in the
 * order the gateway received them; the latest write of a member decides whether it is in the list.
 * Every write carries its order, so a job run twice changes nothing. A malformed item, or a list
 * the database refuses, goes to rejected_events; the other lists are stored.
 */
export async function processAudienceListJob(data: unknown, jobId: string, deps: { store: EventStore; logger: Logger }): Promise<AudienceListOutcome> {
  const job = { queue: QUEUES.audiencelist.name, id: jobId };
  const split = splitJob<ItemOf<'audiencelist'>>(data, job, QUEUES.audiencelist.itemsKey, itemCheck, deps.logger);
  const units = foldMemberWrites(split.items);
  if (units.length === 0 && split.rejected.length === 0) return { members: 0, rejected: 0 };
  const outcome = await writeIsolating({
    ...deps,
    jobs: [job],
    rows: units,
    rejected: split.rejected,
    write: async (uow, part) => {
      const rows = part.flat();
      await uow.audienceMembers.upsert(rows);
      return rows.length;
    },
    refusedRows: (refusals) => refusals.flatMap((refusal) => refusedListRows(split.items, refusal)),
  });
  return { members: outcome.written.reduce((sum, count) => sum + count, 0), rejected: outcome.rejected };
}
