import { FormatRegistry, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { EVENT_TYPES, PayloadByType, type EventType } from './event.schema';
import { STORABLE_ID } from './id.schema';
import { idProblem, numberProblem } from './storable';

// Clients send ISO 8601 in many shapes (with or without milliseconds, offsets, `Z`);
// anything Date can read is a time we can store and correct.
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) => !Number.isNaN(Date.parse(value)));
}

/** Where in the value the error is, as a dotted path (`context.traits.age`), or `event` for the root. */
function where(error: ValueError): string {
  const path = error.path.replace(/^\//, '').replace(/\//g, '.');
  return path === '' ? 'event' : path;
}

/** What a union accepts, in words: `a string or a number`, or `one of insert, update, delete` for literals. Null (absent) is not named. */
function expected(union: TSchema): string {
  const members = ((union.anyOf ?? []) as TSchema[]).filter((member) => member.type !== 'null');
  if (members.length > 0 && members.every((member) => member.const !== undefined)) return `one of ${members.map((member) => String(member.const)).join(', ')}`;
  const kinds = members.map((member) => (member.type === 'integer' ? 'an integer' : `a ${String(member.type)}`));
  return kinds.length <= 1 ? (kinds[0] ?? 'null') : `${kinds.slice(0, -1).join(', ')} or ${kinds[kinds.length - 1]}`;
}

/** Why a value a union refused cannot be stored, when it was of an accepted kind (an id too long, a number too large). */
function unstorable(error: ValueError): string | undefined {
  const members = (error.schema.anyOf ?? []) as TSchema[];
  if (typeof error.value === 'string') {
    return members.some((member) => member.format === STORABLE_ID) ? idProblem(error.value) : undefined;
  }
  if (typeof error.value === 'number' && members.some((member) => member.type === 'number')) return numberProblem(error.value);
  return undefined;
}

/**
 * The error of the one member of `X | null` (a field for which null means absent, `Nullable`), so
 * that `"properties": 5` reads `properties must be an object`, as it did before null was allowed.
 */
function memberError(error: ValueError): ValueError | undefined {
  const members = (error.schema.anyOf ?? []) as TSchema[];
  if (members.length !== 2 || error.value === null) return undefined;
  const member = members.findIndex((schema) => schema.type !== 'null');
  if (member === -1 || members[1 - member].type !== 'null') return undefined;
  return error.errors[member]?.First();
}

/** One short, stable sentence for a schema error: it is what the client and the admin read. */
export function describeError(error: ValueError): string {
  const inner = error.type === ValueErrorType.Union ? memberError(error) : undefined;
  if (inner !== undefined) return describeError(inner);
  const path = where(error);
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return `${path} is required`;
    case ValueErrorType.Object:
      return `${path} must be an object`;
    case ValueErrorType.Array:
      return `${path} must be an array`;
    case ValueErrorType.String:
      return `${path} must be a string`;
    case ValueErrorType.StringMinLength:
      return `${path} must not be empty`;
    case ValueErrorType.StringFormat:
      if (error.schema.format === STORABLE_ID) return `${path} ${idProblem(error.value as string) ?? 'is not a storable identifier'}`;
      return `${path} must be an ISO 8601 date-time`;
    case ValueErrorType.Number:
    case ValueErrorType.Integer:
      if (typeof error.value === 'number' && numberProblem(error.value) !== undefined) return `${path} ${numberProblem(error.value)}`;
      return `${path}: ${error.message}`;
    case ValueErrorType.Union: {
      const problem = unstorable(error);
      return problem !== undefined ? `${path} ${problem}` : `${path} must be ${expected(error.schema)}`;
    }
    default:
      return `${path}: ${error.message}`;
  }
}

/** A compiled TypeBox check that answers with the first error as a sentence, or undefined when valid. */
export class Validator<T extends TSchema> {
  private readonly check: TypeCheck<T>;
  constructor(schema: T) {
    this.check = TypeCompiler.Compile(schema);
  }
  /** Undefined when `value` matches, else the first reason it does not. */
  reason(value: unknown): string | undefined {
    if (this.check.Check(value)) return undefined;
    const first = this.check.Errors(value).First();
    return first ? describeError(first) : 'does not match the schema';
  }
  is(value: unknown): boolean {
    return this.check.Check(value);
  }
}

const validators: Record<EventType, Validator<TSchema>> = {
  identify: new Validator(PayloadByType.identify),
  track: new Validator(PayloadByType.track),
  page: new Validator(PayloadByType.page),
  screen: new Validator(PayloadByType.screen),
  group: new Validator(PayloadByType.group),
  alias: new Validator(PayloadByType.alias),
};

/** True for the event types of the public API. */
export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);
}

function present(id: unknown): boolean {
  return (typeof id === 'string' && id.trim() !== '') || (typeof id === 'number' && Number.isFinite(id));
}

/**
 * Why `event` cannot be accepted as an event of `type`, or undefined when it can.
 * Beyond the schema: every event must identify someone (userId or anonymousId), as RudderStack requires.
 */
export function eventRejectionReason(type: EventType, event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return 'event must be an object';
  const schemaReason = validators[type].reason(event);
  if (schemaReason) return schemaReason;
  const { userId, anonymousId } = event as { userId?: unknown; anonymousId?: unknown };
  if (!present(userId) && !present(anonymousId)) return 'userId or anonymousId is required';
  return undefined;
}
