import { isPlainObject, type Dictionary } from './objects';

/**
 * The optional fields of the known event shapes, for which `null` means absent (the schemas'
 * `Nullable`). `event` is among them: RudderStack's v1.1 payload sets it to null on every type but
 * track, whose schema refuses a null one. Required fields (groupId, previousId) are not.
 */
const EVENT_FIELDS = [
  'messageId',
  'userId',
  'anonymousId',
  'context',
  'integrations',
  'timestamp',
  'originalTimestamp',
  'sentAt',
  'channel',
  'properties',
  'traits',
  'name',
  'category',
  'event',
];
const CONTEXT_FIELDS = ['ip', 'library', 'traits'];

function hasAbsentContextField(context: Dictionary): boolean {
  for (const field of CONTEXT_FIELDS) {
    if (context[field] === null) return true;
  }
  return isPlainObject(context.library) && context.library.name === null;
}

/**
 * `context` without its null known fields (`ip`, `library`, `traits`, `library.name`): itself when
 * it has none, else a copy, so a batch's shared context is never changed.
 */
export function withoutAbsentContextFields<T>(context: T): T {
  if (!isPlainObject(context) || !hasAbsentContextField(context)) return context;
  const copy: Dictionary = { ...context };
  for (const field of CONTEXT_FIELDS) {
    if (copy[field] === null) delete copy[field];
  }
  if (isPlainObject(copy.library) && copy.library.name === null) {
    const { name: _name, ...library } = copy.library;
    copy.library = library;
  }
  return copy as T;
}

/**
 * Deletes the known fields of an event that are null, its context's included, so that the event is
 * stored exactly as if they had not been sent: no `properties: null` in the payload, a new messageId
 * for a null one. Fields it does not know, and values inside properties or traits, are kept as
 * sent. Changes and copies nothing when there is no null: it runs on every event.
 */
export function dropAbsentFields(event: Dictionary): void {
  for (const field of EVENT_FIELDS) {
    if (event[field] === null) delete event[field];
  }
  const context = event.context;
  if (isPlainObject(context) && hasAbsentContextField(context)) event.context = withoutAbsentContextFields(context);
}
