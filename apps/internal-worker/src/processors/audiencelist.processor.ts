import type { AudienceMemberWrite, EventStore } from '@evt/db';
import type { Logger } from '@evt/logging';
import { setAsideMalformedJob, toRejectedRow } from '@evt/pipeline';
import { AudienceListJob, QUEUE_NAMES, Validator } from '@evt/schemas';
import { contentKey } from './canonical';

const jobValidator = new Validator(AudienceListJob);

export interface AudienceListOutcome {
  members: number;
  rejected: number;
}

/**
 * A job of the `audiencelist` queue. Each request's adds come before its removes, requests in the
 * order the gateway received them; the latest write of a member decides whether it is in the list.
 * Every write carries its order, so a job run twice changes nothing.
 */
export async function processAudienceListJob(data: unknown, jobId: string, deps: { store: EventStore; logger: Logger }): Promise<AudienceListOutcome> {
  const reason = jobValidator.reason(data);
  if (reason !== undefined) {
    await setAsideMalformedJob(deps.store, { queue: QUEUE_NAMES.audiencelist, id: jobId }, data, reason, deps.logger);
    return { members: 0, rejected: 1 };
  }
  const job = data as AudienceListJob;
  const latest = new Map<string, AudienceMemberWrite>();
  for (const list of [...job.lists].sort((a, b) => a.sequence - b.sequence)) {
    const writes = [...list.add.map((member) => ({ member, present: true })), ...list.remove.map((member) => ({ member, present: false }))];
    writes.forEach(({ member, present }, index) => {
      const memberKey = contentKey(member);
      latest.set(JSON.stringify([list.sourceId, list.audienceId, memberKey]), {
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
  const rows = [...latest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
  await deps.store.transaction(async (session) => {
    await session.upsertAudienceMembers(rows);
    await session.insertRejected(job.rejected.map(toRejectedRow));
  });
  return { members: rows.length, rejected: job.rejected.length };
}
