import { FormatRegistry, Type, type StringOptions } from '@sinclair/typebox';
import { idProblem, MAX_ID_BYTES } from './storable';

/** The string format of identifiers: at most MAX_ID_BYTES of UTF-8, no NUL, no unpaired surrogate. */
export const STORABLE_ID = 'storable-id';

// Registered where the schemas that use it are declared, so every compiled check (gateway and workers) knows it.
if (!FormatRegistry.Has(STORABLE_ID)) {
  FormatRegistry.Set(STORABLE_ID, (value) => idProblem(value) === undefined);
}

const BOUND = `At most ${MAX_ID_BYTES} bytes of UTF-8, without NUL or unpaired surrogates.`;

/** A string identifier that becomes a key or an indexed column: bounded and storable exactly (docs/reliability.md, Bounds). */
export const IdString = (options: StringOptions = {}) => Type.String({ description: BOUND, ...options, format: STORABLE_ID });

/** Ids arrive as strings from most SDKs and as numbers from some; both are stored as strings. */
export const Id = Type.Union([IdString(), Type.Number()], { description: `A string, or a number stored as a string. ${BOUND}` });

/** An optional id for which `null` means absent: userId and anonymousId (Segment's browser SDK sends `userId: null`), messageId, rETL's recordId. */
export const NullableId = Type.Union([IdString(), Type.Number(), Type.Null()], {
  description: `A string, or a number stored as a string; null means absent. ${BOUND}`,
});
