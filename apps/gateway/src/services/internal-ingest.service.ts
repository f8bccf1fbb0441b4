import { InvalidRequestError } from '@evt/errors';
import type { SourceConfig } from '@evt/db';
import { audienceIdOf, audienceIdReason, cleanMessageId, idToString, isPlainObject, type Dictionary } from '@evt/ingest';
import {
  AudienceListPayload,
  eventRejectionReason,
  idProblem,
  isEventType,
  RetlRecordPayload,
  unstorableValueReason,
  Validator,
  type AudienceListItem,
  type RejectedEvent,
  type RetlAction,
  type RetlItem,
} from '@evt/schemas';
import type { SpooledAudienceList } from '../request/audience-list-body';
import type { IngestService, Producers } from './ingest.service';
import { createSequence } from './sequence';

const recordValidator = new Validator(RetlRecordPayload);
const audienceValidator = new Validator(AudienceListPayload);

/** What a rETL item is upserted by: its recordId, else its messageId (as rudder-server keys records without one). */
function retlKey(item: Dictionary): string | undefined {
  return idToString(item.recordId) ?? idToString(item.messageId);
}

/**
 * Why a rETL item cannot be accepted: it needs a key (a recordId or a messageId); a `record`
 * follows its schema, other types the public rules, and their recordId, when they carry one, is
 * bounded as the schema bounds a record's. Every value must be storable as sent.
 */
function retlReason(raw: unknown): string | undefined {
  if (!isPlainObject(raw)) return 'record must be an object';
  if (raw.type === 'record') return recordValidator.reason(raw) ?? (retlKey(raw) === undefined ? 'recordId is required' : unstorableValueReason(raw));
  if (!isEventType(raw.type)) return 'type must be record or one of identify, track, page, screen, group, alias';
  if (retlKey(raw) === undefined) return 'recordId is required';
  const recordIdProblem = typeof raw.recordId === 'string' ? idProblem(raw.recordId) : undefined;
  if (recordIdProblem !== undefined) return `recordId ${recordIdProblem}`;
  return eventRejectionReason(raw.type, raw) ?? unstorableValueReason(raw);
}

/** An audience list is enqueued in items of this many members at most … */
const MEMBERS_PER_ITEM = 10_000;
/** … and about this many bytes of JSON: jobs stay small for Redis and for the worker's memory. */
const BYTES_PER_ITEM = 2 * 1024 * 1024;

/** rETL records and audience lists: validated here, written in order by the internal worker. */
export class InternalIngestService {
  private readonly sequence = createSequence();

  constructor(
    private readonly ingest: IngestService,
    private readonly producers: Producers,
  ) {}

  async submitRetl(source: SourceConfig, destinationId: string, batch: unknown[], receivedAt: string, bytes: number): Promise<void> {
    if (batch.length === 0) throw new InvalidRequestError('batch is empty');
    const sequence = this.sequence();
    const items: RetlItem[] = [];
    const rejected: RejectedEvent[] = [];
    batch.forEach((raw, index) => {
      const reason = retlReason(raw);
      if (reason !== undefined) {
        rejected.push(this.ingest.rejection(source, reason, raw, 0, receivedAt));
        return;
      }
      const record = raw as Dictionary;
      const fields = record.type === 'record' ? record.fields : (record.traits ?? record.properties);
      items.push({
        sourceId: source.id,
        workspaceId: source.workspaceId,
        destinationId,
        recordId: retlKey(record) as string,
        action: (record.action as RetlAction | null | undefined) ?? 'insert',
        fields: isPlainObject(fields) ? fields : {},
        messageId: cleanMessageId(record.messageId),
        receivedAt,
        sequence,
        index,
      });
    });
    if (items.length === 0) {
      await this.ingest.recordRejections(rejected, bytes);
      throw new InvalidRequestError(rejected[0].reason);
    }
    await this.producers.retl.enqueue({ items, rejected, bytes });
  }

  /**
   * One audience list, read whole beforehand (spoolAudienceList): refused with a reason, or
   * enqueued in items of at most MEMBERS_PER_ITEM members (about BYTES_PER_ITEM), all under one
   * sequence, each waiting for Redis before the next is read. Resolves once every item is stored.
   */
  async submitAudienceList(source: SourceConfig, list: SpooledAudienceList, receivedAt: string): Promise<void> {
    const { fields, bytes } = list;
    const reason = isPlainObject(fields) ? (audienceValidator.reason(fields) ?? list.memberProblem ?? audienceIdReason(fields)) : 'event must be an object';
    if (reason !== undefined) {
      await this.ingest.recordRejections([this.ingest.rejection(source, reason, fields, bytes, receivedAt)], bytes);
      throw new InvalidRequestError(reason);
    }
    const event = fields as AudienceListPayload & Dictionary;
    const base = {
      sourceId: source.id,
      workspaceId: source.workspaceId,
      audienceId: audienceIdOf(event),
      messageId: cleanMessageId(event.messageId),
      receivedAt,
      sequence: this.sequence(),
    };
    for await (const chunk of list.chunks(MEMBERS_PER_ITEM, BYTES_PER_ITEM)) {
      const item: AudienceListItem =
        chunk.list === 'add'
          ? { ...base, add: chunk.members, remove: [], addOffset: chunk.offset }
          : { ...base, add: [], remove: chunk.members, removeOffset: chunk.offset };
      await this.producers.audiencelist.enqueue({ items: [item], rejected: [], bytes: chunk.bytes });
    }
  }
}
