import { idProblem } from '@evt/schemas';
import { isPlainObject, type Dictionary } from './objects';

/** Where an audience-list request names its list, first found first: the field's path and its value. */
function audienceIdSource(event: Dictionary): { field: string; audienceId: string } {
  const properties = isPlainObject(event.properties) ? event.properties : {};
  if (typeof properties.audienceId === 'string') return { field: 'properties.audienceId', audienceId: properties.audienceId };
  if (typeof properties.listId === 'string') return { field: 'properties.listId', audienceId: properties.listId };
  const external = isPlainObject(event.context) && Array.isArray(event.context.externalId) ? event.context.externalId[0] : undefined;
  if (isPlainObject(external) && typeof external.type === 'string' && external.type !== '')
    return { field: 'context.externalId.0.type', audienceId: external.type };
  return { field: 'default', audienceId: 'default' };
}

/** Which audience a list request is about: properties.audienceId, properties.listId, context.externalId[0].type, else "default". */
export function audienceIdOf(event: Dictionary): string {
  return audienceIdSource(event).audienceId;
}

/**
 * Why the audience id of a list request cannot be a key (`context.externalId.0.type is longer than
 * 1024 bytes`), or undefined when it can. The schema checks properties.audienceId and listId; this
 * also covers the id taken from context.externalId.
 */
export function audienceIdReason(event: Dictionary): string | undefined {
  const { field, audienceId } = audienceIdSource(event);
  const problem = idProblem(audienceId);
  return problem === undefined ? undefined : `${field} ${problem}`;
}
