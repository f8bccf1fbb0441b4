import { header, internalOperation, INTERNAL_BATCH_ANSWERS, SOURCE_ID_HEADER, sourceIDAuth, writeKeyAuth } from './openapi-answers';

type Paths = Record<string, unknown>;

/** The internal API's routes. */
export function addInternalPaths(paths: Paths): void {
  paths['/internal/v1/extract'] = internalOperation(
    'Extract',
    'Extract',
    'One event from a cloud extract source, stored with type `extract`; it needs no user id.',
    'ExtractPayload',
    writeKeyAuth,
  );
  paths['/internal/v1/retl'] = internalOperation(
    'Retl',
    'Retl',
    'Reverse ETL records, upserted into retl_records by (source, destination, recordId) following each record’s action (insert, update, delete). An item without a recordId (absent or null) is keyed by its messageId; one without either is rejected with `recordId is required`. The source id may also come in X-Rudder-Source-Id; X-Rudder-Destination-Id names one of the source’s destinations (unknown: 400, disabled: 404).',
    'RetlBatchPayload',
    sourceIDAuth,
    {
      headers: [
        SOURCE_ID_HEADER,
        header('X-Rudder-Destination-Id', 'One of the source’s destinations: its records are kept under it (unknown: 400, disabled: 404). Absent: none.'),
      ],
    },
  );
  paths['/internal/v1/audiencelist'] = internalOperation(
    'AudienceList',
    'Audience List',
    'Members to add to and remove from an audience list (adds first, then removes). Exempt from MAX_REQUEST_SIZE.',
    'AudienceListPayload',
    writeKeyAuth,
  );
  paths['/internal/v1/replay'] = internalOperation(
    'Replay',
    'Replay',
    'Archived events of a replay source’s original source, stored under that source with their original receivedAt. Any other source: 401.',
    'BatchPayload',
    sourceIDAuth,
    { headers: [SOURCE_ID_HEADER] },
  );
  paths['/internal/v1/batch'] = internalOperation(
    'InternalBatch',
    'Batch',
    'Events already enriched upstream, stored as they came. Payloads without messageId, receivedAt, request_ip or rudderId are rejected with the reason.',
    'InternalBatchPayload',
    sourceIDAuth,
    { responses: INTERNAL_BATCH_ANSWERS, headers: [SOURCE_ID_HEADER] },
  );
}
