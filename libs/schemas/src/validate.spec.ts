import { Type } from '@sinclair/typebox';
import { EnrichedEvent } from './enriched-event.schema';
import { BatchPayload, EVENT_TYPES } from './event.schema';
import { AudienceListItem, AudienceListPayload, ExtractPayload, InternalBatchItem, RetlItem, RetlRecordPayload } from './internal.schema';
import { eventRejectionReason, isEventType, Validator } from './validate';

const TOO_LONG = 'is longer than 1024 bytes';
const NUL = 'contains NUL (U+0000), which Postgres cannot store';
const UNPAIRED = 'contains an unpaired UTF-16 surrogate, which UTF-8 cannot encode';

describe('eventRejectionReason', () => {
  describe('accepts', () => {
    it('an event of each type with what that type needs', () => {
      expect([
        eventRejectionReason('identify', { userId: 'u1', traits: { email: 'a@example.com' } }),
        eventRejectionReason('track', { anonymousId: 'a1', event: 'Signed Up', properties: { plan: 'pro' } }),
        eventRejectionReason('page', { anonymousId: 'a1', name: 'Home' }),
        eventRejectionReason('screen', { userId: 'u1' }),
        eventRejectionReason('group', { userId: 'u1', groupId: 'g1' }),
        eventRejectionReason('alias', { userId: 'u1', previousId: 'old' }),
      ]).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    });

    it('numeric ids', () => {
      expect([
        eventRejectionReason('identify', { userId: 42 }),
        eventRejectionReason('identify', { anonymousId: 0 }),
        eventRejectionReason('group', { userId: 42, groupId: 1001 }),
        eventRejectionReason('alias', { userId: 42, previousId: 41 }),
      ]).toEqual([undefined, undefined, undefined, undefined]);
    });

    it('fields it does not know, and any time Date can read', () => {
      expect(
        eventRejectionReason('track', {
          userId: 'u1',
          event: 'e',
          custom: { deep: [1] },
          timestamp: '2024-05-01T12:00:00+02:00',
          sentAt: '2024-05-01T10:00:00Z',
        }),
      ).toBeUndefined();
    });
  });

  describe('rejects, with the exact reason the client reads', () => {
    it('a value that is not an object', () => {
      for (const value of [null, undefined, 'event', 42, true, [{ userId: 'u1' }]]) {
        expect(eventRejectionReason('track', value)).toBe('event must be an object');
      }
    });

    it('an event with neither userId nor anonymousId', () => {
      expect(eventRejectionReason('identify', {})).toBe('userId or anonymousId is required');
      expect(eventRejectionReason('identify', { traits: { email: 'a@example.com' } })).toBe('userId or anonymousId is required');
    });

    it('an event whose ids are empty or blank strings', () => {
      expect(eventRejectionReason('identify', { userId: '', anonymousId: '' })).toBe('userId or anonymousId is required');
      expect(eventRejectionReason('identify', { userId: '  ', anonymousId: '\t' })).toBe('userId or anonymousId is required');
    });

    it('a track event without an event name, or with an empty one', () => {
      expect(eventRejectionReason('track', { userId: 'u1' })).toBe('event is required');
      expect(eventRejectionReason('track', { userId: 'u1', event: '' })).toBe('event must not be empty');
    });

    it('a group event without groupId', () => {
      expect(eventRejectionReason('group', { userId: 'u1' })).toBe('groupId is required');
    });

    it('an alias event without previousId', () => {
      expect(eventRejectionReason('alias', { userId: 'u1' })).toBe('previousId is required');
    });

    it('fields of the wrong type', () => {
      expect(eventRejectionReason('track', { userId: 'u1', event: 'e', properties: 'plan=pro' })).toBe('properties must be an object');
      expect(eventRejectionReason('track', { userId: 'u1', event: 'e', properties: ['pro'] })).toBe('properties must be an object');
      expect(eventRejectionReason('identify', { userId: true })).toBe('userId must be a string or a number');
      expect(eventRejectionReason('identify', { anonymousId: { id: 'a1' } })).toBe('anonymousId must be a string or a number');
      expect(eventRejectionReason('track', { userId: 'u1', event: 42 })).toBe('event must be a string');
      expect(eventRejectionReason('identify', { userId: 'u1', context: 'web' })).toBe('context must be an object');
    });

    it('times that are not dates', () => {
      expect(eventRejectionReason('identify', { userId: 'u1', timestamp: 'yesterday' })).toBe('timestamp must be an ISO 8601 date-time');
      expect(eventRejectionReason('identify', { userId: 'u1', originalTimestamp: '2024-13-45T99:00:00Z' })).toBe(
        'originalTimestamp must be an ISO 8601 date-time',
      );
      expect(eventRejectionReason('identify', { userId: 'u1', sentAt: 1714561200000 })).toBe('sentAt must be a string');
    });

    it('naming the dotted path of a nested field', () => {
      expect(eventRejectionReason('identify', { userId: 'u1', context: { traits: 'vip' } })).toBe('context.traits must be an object');
      expect(eventRejectionReason('identify', { userId: 'u1', context: { library: { name: 3 } } })).toBe('context.library.name must be a string');
    });

    it('with the schema reason before the missing-id reason', () => {
      expect(eventRejectionReason('track', {})).toBe('event is required');
    });
  });
});

describe('null means absent', () => {
  // What the SDKs were seen sending (analytics-next: userId, timestamp, context.traits; the server SDKs pass
  // a caller's nulls through), and every other optional field of the known shapes.
  const NULLABLE = {
    identify: ['messageId', 'userId', 'context', 'integrations', 'timestamp', 'originalTimestamp', 'sentAt', 'channel', 'type', 'traits'],
    track: ['properties'],
    page: ['name', 'category', 'properties'],
    screen: ['name', 'category', 'properties'],
    group: ['traits'],
    alias: [],
  } as const;
  const valid = { identify: {}, track: { event: 'E' }, page: {}, screen: {}, group: { groupId: 'g1' }, alias: { previousId: 'p1' } } as const;

  it.each(EVENT_TYPES)('%s: accepts null for each optional field, the common ones included', (type) => {
    const fields = [...NULLABLE.identify.filter((field) => field !== 'traits'), ...NULLABLE[type]];
    expect(fields.map((field) => [field, eventRejectionReason(type, { anonymousId: 'a1', ...valid[type], [field]: null })])).toEqual(
      fields.map((field) => [field, undefined]),
    );
  });

  it("accepts null for the context's known fields", () => {
    for (const context of [{ traits: null }, { ip: null }, { library: null }, { library: { name: null } }]) {
      expect(eventRejectionReason('track', { anonymousId: 'a1', event: 'E', context })).toBeUndefined();
    }
  });

  it("accepts analytics-next's anonymous track and rudder-sdk-node's nulls as sent", () => {
    const segment = {
      type: 'track',
      event: 'E',
      userId: null,
      anonymousId: 'a1',
      timestamp: null,
      properties: { coupon: null },
      context: { traits: null },
      integrations: {},
    };
    const rudderNode = { type: 'page', anonymousId: 'a1', name: null, category: null, properties: null, integrations: null, timestamp: null, traits: null };
    expect([eventRejectionReason('track', segment), eventRejectionReason('page', rudderNode)]).toEqual([undefined, undefined]);
  });

  it('keeps required fields required and non-null', () => {
    expect([
      eventRejectionReason('track', { userId: 'u1', event: null }),
      eventRejectionReason('group', { userId: 'u1', groupId: null }),
      eventRejectionReason('alias', { userId: 'u1', previousId: null }),
    ]).toEqual(['event must be a string', 'groupId must be a string or a number', 'previousId must be a string or a number']);
  });

  it('still names what a non-null value of a nullable field must be', () => {
    expect([
      eventRejectionReason('track', { userId: 'u1', event: 'E', properties: 5 }),
      eventRejectionReason('identify', { userId: 'u1', timestamp: 'soon' }),
      eventRejectionReason('identify', { userId: 'u1', channel: 1 }),
      eventRejectionReason('identify', { userId: 'u1', context: { traits: [] } }),
      eventRejectionReason('identify', { userId: 'u1', context: { ip: 1 } }),
      eventRejectionReason('identify', { userId: 'u1', messageId: true }),
    ]).toEqual([
      'properties must be an object',
      'timestamp must be an ISO 8601 date-time',
      'channel must be a string',
      'context.traits must be an object',
      'context.ip must be a string',
      'messageId must be a string or a number',
    ]);
  });

  it('batch-level sentAt, context and integrations may be null', () => {
    expect(new Validator(BatchPayload).reason({ batch: [], sentAt: null, context: null, integrations: null })).toBeUndefined();
    expect(new Validator(BatchPayload).reason({ batch: [], context: { traits: null } })).toBeUndefined();
  });

  it('extract, audience-list and rETL records take null as absent too', () => {
    expect(
      new Validator(ExtractPayload).reason({ messageId: null, event: null, properties: null, context: { traits: null }, timestamp: null }),
    ).toBeUndefined();
    expect(
      new Validator(AudienceListPayload).reason({ messageId: null, context: null, properties: { audienceId: null, listId: null, listData: {} } }),
    ).toBeUndefined();
    expect(
      new Validator(RetlRecordPayload).reason({ type: 'record', recordId: null, action: null, fields: null, messageId: null, context: null }),
    ).toBeUndefined();
  });
});

describe('rETL records', () => {
  const record = new Validator(RetlRecordPayload);

  it('need no recordId in the schema (the gateway keys them by messageId), but bound one they carry', () => {
    expect([record.reason({ type: 'record', messageId: 'm1', fields: {} }), record.reason({ type: 'record', recordId: 7 })]).toEqual([undefined, undefined]);
    expect(record.reason({ type: 'record', recordId: true })).toBe('recordId must be a string or a number');
    expect(record.reason({ type: 'record', messageId: 'm'.repeat(1025) })).toBe(`messageId ${TOO_LONG}`);
  });
});

describe('identifiers: bounded and storable, checked by the schemas themselves', () => {
  const base = { userId: 'u1', anonymousId: 'a1', groupId: 'g1', previousId: 'p1', messageId: 'm1' };
  const FIELDS = ['messageId', 'userId', 'anonymousId', 'groupId', 'previousId'] as const;
  const typeOf = { messageId: 'track', userId: 'identify', anonymousId: 'identify', groupId: 'group', previousId: 'alias' } as const;
  const withId = (field: (typeof FIELDS)[number], id: unknown) => eventRejectionReason(typeOf[field], { ...base, event: 'E', [field]: id });

  it.each(FIELDS)('%s: 1024 bytes are accepted, 1025 refused, in ASCII and in multi-byte characters', (field) => {
    expect([withId(field, 'a'.repeat(1024)), withId(field, 'é'.repeat(512)), withId(field, '😀'.repeat(256))]).toEqual([undefined, undefined, undefined]);
    expect([withId(field, 'a'.repeat(1025)), withId(field, 'é'.repeat(512) + 'a'), withId(field, '€'.repeat(342))]).toEqual(
      Array(3).fill(`${field} ${TOO_LONG}`),
    );
  });

  it.each(FIELDS)('%s: NUL and unpaired surrogates are refused as sent, never cleaned', (field) => {
    expect([withId(field, '\u0000abc'), withId(field, 'abc\u0000'), withId(field, '\ud800'), withId(field, '\udfff')]).toEqual([
      `${field} ${NUL}`,
      `${field} ${NUL}`,
      `${field} ${UNPAIRED}`,
      `${field} ${UNPAIRED}`,
    ]);
  });

  it.each(FIELDS)('%s: a number JSON.parse read as Infinity is refused', (field) => {
    expect(withId(field, JSON.parse('1e400'))).toBe(`${field} is a number too large to store`);
  });

  it('null userId or anonymousId means absent', () => {
    expect(eventRejectionReason('track', { userId: null, anonymousId: 'a1', event: 'E' })).toBeUndefined();
    expect(eventRejectionReason('track', { userId: 'u1', anonymousId: null, event: 'E' })).toBeUndefined();
    expect(eventRejectionReason('track', { userId: null, anonymousId: null, event: 'E' })).toBe('userId or anonymousId is required');
    expect(eventRejectionReason('group', { userId: 'u1', groupId: null })).toBe('groupId must be a string or a number');
  });

  it('extract, rETL and audience-list ids are bounded the same way', () => {
    expect(new Validator(ExtractPayload).reason({ messageId: 'x'.repeat(1025) })).toBe(`messageId ${TOO_LONG}`);
    expect(new Validator(ExtractPayload).reason({ userId: null, anonymousId: '\u0000' })).toBe(`anonymousId ${NUL}`);
    const record = new Validator(RetlRecordPayload);
    expect(record.reason({ type: 'record', recordId: 'r'.repeat(1025) })).toBe(`recordId ${TOO_LONG}`);
    expect(record.reason({ type: 'record', recordId: 'r', action: 'upsert' })).toBe('action must be one of insert, update, delete');
    const list = new Validator(AudienceListPayload);
    expect(list.reason({ properties: { audienceId: 'l'.repeat(1025), listData: {} } })).toBe(`properties.audienceId ${TOO_LONG}`);
    expect(list.reason({ properties: { listId: '\udfff', listData: {} } })).toBe(`properties.listId ${UNPAIRED}`);
  });

  it('the rETL and audience-list jobs hold only bounded ids', () => {
    const retl = {
      sourceId: 's',
      workspaceId: 'w',
      destinationId: '',
      recordId: 'r',
      action: 'insert',
      fields: {},
      messageId: 'm',
      receivedAt: 't',
      sequence: 0,
      index: 0,
    };
    const job = new Validator(RetlItem);
    expect([
      job.reason(retl),
      job.reason({ ...retl, recordId: 'r'.repeat(1025) }),
      job.reason({ ...retl, destinationId: 'd'.repeat(1025) }),
      job.reason({ ...retl, messageId: '\u0000' }),
    ]).toEqual([undefined, `recordId ${TOO_LONG}`, `destinationId ${TOO_LONG}`, `messageId ${NUL}`]);
    const list = { sourceId: 's', workspaceId: 'w', audienceId: 'a', messageId: 'm', receivedAt: 't', sequence: 0, add: [], remove: [] };
    expect(new Validator(AudienceListItem).reason({ ...list, audienceId: 'a'.repeat(1025) })).toBe(`audienceId ${TOO_LONG}`);
  });
});

describe('the internal batch item and the events job: one definition', () => {
  const route = new Validator(InternalBatchItem);
  const job = new Validator(EnrichedEvent);
  const payload = {
    type: 'track',
    event: 'E',
    userId: 'u1',
    messageId: 'm1',
    receivedAt: '2025-06-01T00:00:00.000Z',
    request_ip: '203.0.113.1',
    rudderId: 'r1',
  };
  const item = (extra: Record<string, unknown>) => ({ properties: {}, payload: { ...payload, ...extra } });

  it('refuses what the job would refuse, with the reason', () => {
    expect([
      route.reason(item({ userId: 42 })),
      route.reason(item({ anonymousId: { id: 'a' } })),
      route.reason(item({ messageId: 'm'.repeat(1025) })),
      route.reason(item({ messageId: '' })),
      route.reason(item({ userId: '\ud800' })),
      route.reason(item({ type: 'group', groupId: 'g'.repeat(1025) })),
      route.reason(item({ type: 'alias', previousId: '\u0000' })),
    ]).toEqual([
      'payload.userId must be a string',
      'payload.anonymousId must be a string',
      `payload.messageId ${TOO_LONG}`,
      'payload.messageId must not be empty',
      `payload.userId ${UNPAIRED}`,
      `payload.groupId ${TOO_LONG}`,
      `payload.previousId ${NUL}`,
    ]);
  });

  it('accepts null userId and anonymousId, as the job does', () => {
    expect([route.reason(item({ anonymousId: null })), route.reason(item({ userId: null, anonymousId: 'a1' }))]).toEqual([undefined, undefined]);
  });

  it('never accepts an item whose payload the job refuses', () => {
    const candidates: Array<Record<string, unknown>> = [
      {},
      { userId: 42 },
      { userId: null },
      { anonymousId: null },
      { anonymousId: 7 },
      { messageId: 'm'.repeat(1024) },
      { messageId: 'm'.repeat(1025) },
      { messageId: 5 },
      { type: '' },
      { rudderId: '' },
      { receivedAt: 'yesterday' },
      { request_ip: undefined },
      { userId: 'é'.repeat(513) },
      { anonymousId: '\u0000' },
      { event: { any: 'thing' } },
      { type: 'group', groupId: 12 },
      { type: 'alias', previousId: null },
    ];
    const disagreements = candidates.filter((extra) => route.is(item(extra)) && !job.is({ ...payload, ...extra }));
    expect(disagreements).toEqual([]);
    // The route is stricter only where it can tell more: a time, a request_ip, bounded group and alias ids.
    const onlyTheJobAccepts = candidates.filter((extra) => !route.is(item(extra)) && job.is({ ...payload, ...extra }));
    expect(onlyTheJobAccepts).toEqual([{ receivedAt: 'yesterday' }, { request_ip: undefined }]);
  });
});

describe('isEventType', () => {
  it('is true for the six types of the public API', () => {
    expect(EVENT_TYPES.map(isEventType)).toEqual([true, true, true, true, true, true]);
    expect(EVENT_TYPES).toEqual(['identify', 'track', 'page', 'screen', 'group', 'alias']);
  });

  it('is false for anything else', () => {
    expect(['Track', 'webhook', 'record', 'extract', '', ' track', 1, undefined, null, ['track']].map(isEventType)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('Validator', () => {
  const validator = new Validator(
    Type.Object({ name: Type.String({ minLength: 1 }), tags: Type.Optional(Type.Array(Type.String())), count: Type.Optional(Type.Integer()) }),
  );

  it('answers undefined and is() true for a matching value', () => {
    expect(validator.reason({ name: 'a', tags: ['x'] })).toBeUndefined();
    expect(validator.is({ name: 'a', tags: ['x'] })).toBe(true);
  });

  it('answers the first error as a sentence and is() false otherwise', () => {
    expect(validator.reason({})).toBe('name is required');
    expect(validator.reason({ name: '' })).toBe('name must not be empty');
    expect(validator.reason({ name: 'a', tags: 'x' })).toBe('tags must be an array');
    expect(validator.reason({ name: 'a', tags: ['x', 2] })).toBe('tags.1 must be a string');
    expect(validator.reason('text')).toBe('event must be an object');
    expect(validator.is({})).toBe(false);
  });

  it("falls back to TypeBox's own message for other errors, after the path", () => {
    expect(validator.reason({ name: 'a', count: 1.5 })).toBe('count: Expected integer');
  });
});
