import { InvalidRequestError } from '@evt/errors';
import type { SourceConfig } from '@evt/db';
import { cleanMessageId, idToString, isPlainObject, type Dictionary } from '@evt/ingest';
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
import type { IngestService, Producers } from './ingest.service';
import { createSequence } from './sequence';

const recordValidator = new Validator(RetlRecordPayload);
const audienceValidator = new Validator(AudienceListPayload);

/**
 * Why a rETL item cannot be accepted: a `record` needs a recordId; other types follow the public
 * rules, and their recordId, when they carry one, is bounded as the schema bounds a record's.
 * Every value must be storable as sent.
 */
function retlReason(raw: unknown): string | undefined {
  if (!isPlainObject(raw)) return 'record must be an object';
  if (raw.type === 'record') return recordValidator.reason(raw) ?? unstorableValueReason(raw);
  if (!isEventType(raw.type)) return 'type must be record or one of identify, track, page, screen, group, alias';
  if (idToString(raw.recordId) === undefined && idToString(raw.messageId) === undefined) return 'recordId is required';
  const recordIdProblem = typeof raw.recordId === 'string' ? idProblem(raw.recordId) : undefined;
  if (recordIdProblem !== undefined) return `recordId ${recordIdProblem}`;
  return eventRejectionReason(raw.type, raw) ?? unstorableValueReason(raw);
}

/** Which audience a list request is about: properties.audienceId, properties.listId, context.externalId[0].type. */
function audienceIdOf(event: Dictionary): string {
  const properties = event.properties as Dictionary;
  const external = isPlainObject(event.context) && Array.isArray(event.context.externalId) ? event.context.externalId[0] : undefined;
  const fromContext = isPlainObject(external) && typeof external.type === 'string' && external.type !== '' ? external.type : undefined;
  return (properties.audienceId as string | undefined) ?? (properties.listId as string | undefined) ?? fromContext ?? 'default';
}

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
        recordId: (idToString(record.recordId) ?? idToString(record.messageId)) as string,
        action: (record.action as RetlAction | undefined) ?? 'insert',
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

  async submitAudienceList(source: SourceConfig, body: unknown, receivedAt: string, bytes: number): Promise<void> {
    const reason = isPlainObject(body) ? audienceValidator.reason(body) : 'event must be an object';
    if (reason !== undefined) {
      await this.ingest.recordRejections([this.ingest.rejection(source, reason, body, bytes, receivedAt)], bytes);
      throw new InvalidRequestError(reason);
    }
    const event = body as AudienceListPayload & Dictionary;
    const { add = [], remove = [] } = event.properties.listData;
    const item: AudienceListItem = {
      sourceId: source.id,
      workspaceId: source.workspaceId,
      audienceId: audienceIdOf(event),
      messageId: cleanMessageId(event.messageId),
      receivedAt,
      sequence: this.sequence(),
      add,
      remove,
    };
    await this.producers.audiencelist.enqueue({ items: [item], rejected: [], bytes });
  }
}
