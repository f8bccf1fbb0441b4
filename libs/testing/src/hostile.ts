import fc from 'fast-check';

// Hostile input for the gateway, shared by its property tests and the fuzz run against the
// running process: keys that pollute prototypes or collide with ours, values of every type.

export const hostileKey = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'userId',
  'anonymousId',
  'type',
  'batch',
  'context',
  'messageId',
  'writeKey',
  'event',
);

/** Any JSON value, with hostile keys and binary strings. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  leaf: fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string({ unit: 'binary', maxLength: 50 })),
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(hostileKey, fc.string({ maxLength: 8 })), tie('node'), { maxKeys: 5 }),
  ),
})).node;

/** Something shaped like an event, each field possibly of the wrong type. */
export const hostileEvent = fc.record(
  {
    type: fc.oneof(fc.constantFrom('track', 'identify', 'page', 'group', 'alias', 'screen'), fc.anything()),
    userId: fc.oneof(fc.string(), fc.integer(), fc.anything()),
    event: fc.oneof(fc.string(), fc.anything()),
    properties: hostileValue,
    context: hostileValue,
    __proto__: hostileValue,
  },
  { requiredKeys: [] },
);

/** A request body as parsed JSON: a value, an event, or a batch of either. */
export const hostileBody = fc.oneof(
  hostileValue,
  hostileEvent,
  fc.record({ batch: fc.oneof(fc.array(fc.oneof(hostileEvent, hostileValue), { maxLength: 5 }), hostileValue) }, { requiredKeys: [] }),
);

/** True while no input has changed Object.prototype. */
export function prototypesIntact(): boolean {
  const probe = {} as Record<string, unknown>;
  return (
    probe.polluted === undefined && probe.userId === undefined && Object.keys(Object.prototype).length === 0 && typeof Object.prototype.toString === 'function'
  );
}
