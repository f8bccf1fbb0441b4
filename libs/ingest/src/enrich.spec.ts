import { decodeAnonymousIdHeader, enrichEvent, pixelEvent, type RequestContext } from './enrich';
import type { Dictionary } from './objects';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// rudderIds computed independently with Python (md5 of "<userId>:<anonymousId>", then
// b[6] = (b[6] & 0x0f) | 0x40 and b[8] = (b[8] & 0x3f) | 0x80, grouped 8-4-4-4-12).
const RUDDER_ID = {
  'u1:a1': 'f81ebcce-dafc-4607-b906-29e68e64b35f',
  ':a1': 'b09c6e0b-7298-4c66-88e1-7af047315456',
  'u1:': '5eff0fc3-0944-48fa-9c04-38f62e3890ca',
  '12345:a1': '5f96a3c5-d3cd-4997-b483-51dbe20347b6',
};

const RECEIVED_AT = '2024-05-01T12:00:00.000Z';

function request(overrides: Partial<RequestContext> = {}): RequestContext {
  return { receivedAt: RECEIVED_AT, receivedAtMs: Date.UTC(2024, 4, 1, 12, 0, 0, 0), requestIp: '203.0.113.7', ...overrides };
}

/** enrichEvent, typed as the plain object it returns so that any field can be read. */
function enrich(event: Dictionary, context: RequestContext): Dictionary {
  return enrichEvent(event, context);
}

afterEach(() => {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(({} as Record<string, unknown>).x).toBeUndefined();
});

describe('enrichEvent', () => {
  it('adds receivedAt, request_ip, timestamp and rudderId and keeps everything the client sent', () => {
    const event = { type: 'track', event: 'Signed Up', userId: 'u1', anonymousId: 'a1', messageId: 'm-1', properties: { plan: 'pro' }, channel: 'web' };
    expect(enrichEvent(event, request())).toStrictEqual({
      type: 'track',
      event: 'Signed Up',
      userId: 'u1',
      anonymousId: 'a1',
      messageId: 'm-1',
      properties: { plan: 'pro' },
      channel: 'web',
      receivedAt: RECEIVED_AT,
      request_ip: '203.0.113.7',
      timestamp: RECEIVED_AT,
      rudderId: RUDDER_ID['u1:a1'],
    });
  });

  it('changes and returns the event it is given', () => {
    const event: Dictionary = { type: 'track', event: 'e', userId: 'u1' };
    expect(enrichEvent(event, request())).toBe(event);
    expect(event.rudderId).toBe(RUDDER_ID['u1:']);
  });

  describe('type', () => {
    it('forces the type of a single-event route', () => {
      expect(enrich({ type: 'track', userId: 'u1' }, request({ type: 'identify' })).type).toBe('identify');
      expect(enrich({ userId: 'u1' }, request({ type: 'page' })).type).toBe('page');
    });

    it('keeps the event type when the route forces none (batches)', () => {
      expect(enrich({ type: 'group', groupId: 'g1', userId: 'u1' }, request()).type).toBe('group');
    });
  });

  describe('ids', () => {
    it('stores numeric userId, anonymousId, groupId and previousId as strings', () => {
      const event = enrich({ type: 'alias', userId: 12345, anonymousId: 7, groupId: 1001, previousId: 3.5 }, request());
      expect([event.userId, event.anonymousId, event.groupId, event.previousId]).toEqual(['12345', '7', '1001', '3.5']);
    });

    it('computes rudderId from the string form of a numeric userId', () => {
      expect(enrich({ type: 'track', event: 'e', userId: 12345, anonymousId: 'a1' }, request()).rudderId).toBe(RUDDER_ID['12345:a1']);
    });

    it('computes rudderId with an empty part for a missing id', () => {
      expect(enrich({ type: 'track', event: 'e', anonymousId: 'a1' }, request()).rudderId).toBe(RUDDER_ID[':a1']);
      expect(enrich({ type: 'track', event: 'e', userId: 'u1' }, request()).rudderId).toBe(RUDDER_ID['u1:']);
    });

    it('takes a null userId or anonymousId as absent, for rudderId, and drops the null', () => {
      const event = enrich({ type: 'track', event: 'e', userId: null, anonymousId: 'a1' }, request());
      expect([Object.prototype.hasOwnProperty.call(event, 'userId'), event.rudderId]).toEqual([false, RUDDER_ID[':a1']]);
      expect(enrich({ type: 'track', event: 'e', userId: 'u1', anonymousId: null }, request()).rudderId).toBe(RUDDER_ID['u1:']);
    });

    it('gives a null anonymousId the AnonymousId header', () => {
      expect(enrich({ type: 'track', event: 'e', anonymousId: null }, request({ anonymousIdHeader: 'a1' })).rudderId).toBe(RUDDER_ID[':a1']);
    });

    it('keeps a messageId, trimmed of invisible characters', () => {
      expect(enrich({ userId: 'u1', messageId: ' \u200bm-1\n' }, request()).messageId).toBe('m-1');
      expect(enrich({ userId: 'u1', messageId: 99 }, request()).messageId).toBe('99');
    });

    it('gives a new UUID v4 messageId when the event has none', () => {
      expect(enrich({ userId: 'u1' }, request()).messageId).toMatch(UUID_V4);
      expect(enrich({ userId: 'u1', messageId: '  ' }, request()).messageId).toMatch(UUID_V4);
    });
  });

  describe('AnonymousId header', () => {
    it('is used when the event has no anonymousId, and counts for rudderId', () => {
      const event = enrich({ type: 'page' }, request({ anonymousIdHeader: 'a1' }));
      expect([event.anonymousId, event.rudderId]).toEqual(['a1', RUDDER_ID[':a1']]);
    });

    it('is used when the event anonymousId is an empty string', () => {
      expect(enrich({ type: 'page', anonymousId: '' }, request({ anonymousIdHeader: 'a1' })).anonymousId).toBe('a1');
    });

    it('never replaces the anonymousId the event carries', () => {
      const event = enrich({ type: 'page', userId: 'u1', anonymousId: 'a1' }, request({ anonymousIdHeader: 'from-header' }));
      expect([event.anonymousId, event.rudderId]).toEqual(['a1', RUDDER_ID['u1:a1']]);
      expect(enrich({ type: 'page', anonymousId: 0 }, request({ anonymousIdHeader: 'from-header' })).anonymousId).toBe('0');
    });
  });

  it('removes a writeKey sent in the event body', () => {
    const event = enrich({ type: 'track', event: 'e', userId: 'u1', writeKey: 'secret-write-key' }, request());
    expect(Object.prototype.hasOwnProperty.call(event, 'writeKey')).toBe(false);
    expect(JSON.stringify(event)).not.toContain('secret-write-key');
  });

  describe('request_ip and receivedAt', () => {
    it('leaves request_ip out when the address is unknown', () => {
      const event = enrich({ userId: 'u1' }, request({ requestIp: undefined }));
      expect(Object.prototype.hasOwnProperty.call(event, 'request_ip')).toBe(false);
    });

    it('replaces a receivedAt the client sent with the gateway time', () => {
      expect(enrich({ userId: 'u1', receivedAt: '2000-01-01T00:00:00.000Z' }, request()).receivedAt).toBe(RECEIVED_AT);
    });

    it('keeps the event receivedAt for replayed events, and corrects timestamp against it', () => {
      const event = enrich(
        { userId: 'u1', receivedAt: '2024-04-01T08:00:00.000Z', originalTimestamp: '2024-04-01T06:59:50.000Z', sentAt: '2024-04-01T07:00:00.000Z' },
        request({ keepOriginal: true }),
      );
      expect([event.receivedAt, event.timestamp, event.originalTimestamp]).toEqual([
        '2024-04-01T08:00:00.000Z',
        '2024-04-01T07:59:50.000Z',
        '2024-04-01T06:59:50.000Z',
      ]);
    });

    it('uses the gateway time for a replayed event that carries no receivedAt', () => {
      expect(enrich({ userId: 'u1' }, request({ keepOriginal: true })).receivedAt).toBe(RECEIVED_AT);
    });

    it('uses the gateway time for a replayed event whose receivedAt is not a date', () => {
      const event = enrich(
        { userId: 'u1', receivedAt: 'garbage', originalTimestamp: '2024-04-01T06:59:50.000Z', sentAt: '2024-04-01T07:00:00.000Z' },
        request({ keepOriginal: true }),
      );
      expect([event.receivedAt, event.timestamp]).toEqual([RECEIVED_AT, new Date(Date.parse(RECEIVED_AT) - 10_000).toISOString()]);
    });
  });

  describe('batch context and integrations', () => {
    const batchContext = { library: { name: 'rudder-sdk', version: '1.0.0' }, locale: 'en-US' };
    const batchIntegrations = { All: true, Amplitude: false };

    it('merges the batch context deeply under the event own context', () => {
      const event = enrich({ userId: 'u1', context: { library: { version: '2.0.0' }, ip: '10.0.0.1' } }, request({ batchContext }));
      expect(event.context).toEqual({ library: { name: 'rudder-sdk', version: '2.0.0' }, locale: 'en-US', ip: '10.0.0.1' });
    });

    it('merges the batch integrations under the event own integrations', () => {
      const event = enrich({ userId: 'u1', integrations: { Amplitude: true, Mixpanel: { apiKey: 'x' } } }, request({ batchIntegrations }));
      expect(event.integrations).toEqual({ All: true, Amplitude: true, Mixpanel: { apiKey: 'x' } });
    });

    it('gives the batch context and integrations to events that have none', () => {
      const event = enrich({ userId: 'u1' }, request({ batchContext, batchIntegrations }));
      expect([event.context, event.integrations]).toEqual([batchContext, batchIntegrations]);
    });

    it('leaves the batch values unchanged for the next event of the batch', () => {
      const context = request({ batchContext, batchIntegrations });
      enrich({ userId: 'u1', context: { locale: 'fr-FR', library: { name: 'other' } }, integrations: { All: false } }, context);
      expect(batchContext).toEqual({ library: { name: 'rudder-sdk', version: '1.0.0' }, locale: 'en-US' });
      expect(batchIntegrations).toEqual({ All: true, Amplitude: false });
    });

    it('adds no context or integrations when neither the batch nor the event has them', () => {
      const event = enrich({ userId: 'u1' }, request());
      expect(['context', 'integrations'].filter((key) => Object.prototype.hasOwnProperty.call(event, key))).toEqual([]);
    });

    it('keeps "__proto__" keys of parsed JSON as data and never changes Object.prototype', () => {
      const event = enrich(
        { userId: 'u1', context: JSON.parse('{"__proto__":{"x":1},"ip":"10.0.0.1"}') },
        request({ batchContext: JSON.parse('{"__proto__":{"polluted":1}}'), batchIntegrations: JSON.parse('{"__proto__":{"polluted":1}}') }),
      );
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getPrototypeOf(event.context)).toBe(Object.prototype);
      expect(Object.getPrototypeOf(event.integrations)).toBe(Object.prototype);
      expect(JSON.stringify(event.context)).toBe('{"__proto__":{"polluted":1,"x":1},"ip":"10.0.0.1"}');
      expect(JSON.stringify(event.integrations)).toBe('{"__proto__":{"polluted":1}}');
    });
  });

  describe('null means absent', () => {
    const has = (object: unknown, key: string) => Object.prototype.hasOwnProperty.call(object, key);

    it("stores Segment's anonymous event as if its null fields had not been sent", () => {
      const sent = {
        type: 'track',
        event: 'E',
        userId: null,
        anonymousId: 'a1',
        messageId: 'm-1',
        properties: null,
        traits: null,
        integrations: null,
        channel: null,
        context: { traits: null, ip: null, library: null, locale: 'en-US' },
      };
      const event = enrich(structuredClone(sent), request());
      const absent = enrich({ type: 'track', event: 'E', anonymousId: 'a1', messageId: 'm-1', context: { locale: 'en-US' } }, request());
      expect(event).toStrictEqual(absent);
      expect(event.rudderId).toBe(RUDDER_ID[':a1']);
    });

    it('drops null name, category and event (page), and null timestamps, as if unsent', () => {
      const event = enrich(
        { type: 'page', anonymousId: 'a1', name: null, category: null, event: null, timestamp: null, originalTimestamp: null, sentAt: null },
        request(),
      );
      expect(['name', 'category', 'event', 'originalTimestamp', 'sentAt'].filter((key) => has(event, key))).toEqual([]);
      expect(event.timestamp).toBe(RECEIVED_AT);
    });

    it('gives a null messageId a new one, as an absent one', () => {
      expect(enrich({ userId: 'u1', messageId: null }, request()).messageId).toMatch(UUID_V4);
    });

    it('drops a null context.library.name', () => {
      expect(enrich({ userId: 'u1', context: { library: { name: null, version: '1' } } }, request()).context).toEqual({ library: { version: '1' } });
    });

    it('lets the batch context, integrations and sentAt apply under an event whose own are null', () => {
      const event = enrich(
        { userId: 'u1', context: null, integrations: null, sentAt: null, originalTimestamp: '2024-05-01T10:59:50.000Z' },
        request({ batchContext: { locale: 'en-US' }, batchIntegrations: { All: true }, sentAt: '2024-05-01T11:00:00.000Z' }),
      );
      expect([event.context, event.integrations, event.sentAt, event.timestamp]).toEqual([
        { locale: 'en-US' },
        { All: true },
        '2024-05-01T11:00:00.000Z',
        '2024-05-01T11:59:50.000Z',
      ]);
      const traits = enrich({ userId: 'u1', context: { traits: null } }, request({ batchContext: { traits: { plan: 'pro' } } }));
      expect(traits.context).toEqual({ traits: { plan: 'pro' } });
    });

    it("drops a batch context's null fields without changing it for the batch's next event", () => {
      const batchContext = { traits: null, library: { name: null, version: '1' }, locale: 'en-US' };
      const event = enrich({ userId: 'u1', context: { ip: '10.0.0.1' } }, request({ batchContext, batchIntegrations: null }));
      expect(event.context).toEqual({ library: { version: '1' }, locale: 'en-US', ip: '10.0.0.1' });
      expect(has(event, 'integrations')).toBe(false);
      expect(batchContext).toEqual({ traits: null, library: { name: null, version: '1' }, locale: 'en-US' });
    });

    it('keeps nulls inside properties and traits, and in fields it does not know, as sent', () => {
      const event = enrich(
        { userId: 'u1', properties: { coupon: null }, traits: { age: null }, context: { page: { referrer: null } }, custom: null },
        request(),
      );
      expect([event.properties, event.traits, event.context, event.custom]).toEqual([{ coupon: null }, { age: null }, { page: { referrer: null } }, null]);
    });

    it('keeps an event without nulls, and its context, as the same objects', () => {
      const context = { traits: { plan: 'pro' }, library: { name: 'sdk' } };
      const event = enrich({ userId: 'u1', context }, request());
      expect(event.context).toBe(context);
    });
  });

  describe('timestamps', () => {
    it('corrects timestamp with the event own sentAt before the batch sentAt', () => {
      const event = enrich(
        { userId: 'u1', originalTimestamp: '2024-05-01T10:59:50.000Z', sentAt: '2024-05-01T11:00:00.000Z' },
        request({ sentAt: '2024-05-01T10:00:00.000Z' }),
      );
      expect([event.timestamp, event.originalTimestamp, event.sentAt]).toEqual([
        '2024-05-01T11:59:50.000Z',
        '2024-05-01T10:59:50.000Z',
        '2024-05-01T11:00:00.000Z',
      ]);
    });

    it('uses the batch sentAt when the event has none, and stores it on the event', () => {
      const event = enrich({ userId: 'u1', originalTimestamp: '2024-05-01T10:59:30.000Z' }, request({ sentAt: '2024-05-01T11:00:00.000Z' }));
      expect([event.timestamp, event.originalTimestamp, event.sentAt]).toEqual([
        '2024-05-01T11:59:30.000Z',
        '2024-05-01T10:59:30.000Z',
        '2024-05-01T11:00:00.000Z',
      ]);
    });

    it('moves a Segment client timestamp to originalTimestamp and corrects timestamp', () => {
      const event = enrich({ userId: 'u1', timestamp: '2024-05-01T10:59:50.000Z', sentAt: '2024-05-01T11:00:00.000Z' }, request());
      expect([event.timestamp, event.originalTimestamp]).toEqual(['2024-05-01T11:59:50.000Z', '2024-05-01T10:59:50.000Z']);
    });

    it('keeps the client time when there is no sentAt', () => {
      const event = enrich({ userId: 'u1', originalTimestamp: '2024-05-01T10:59:50.000Z' }, request());
      expect([event.timestamp, event.originalTimestamp]).toEqual(['2024-05-01T10:59:50.000Z', '2024-05-01T10:59:50.000Z']);
      expect(Object.prototype.hasOwnProperty.call(event, 'sentAt')).toBe(false);
    });

    it('uses receivedAt as timestamp and adds no originalTimestamp when the client sent no time', () => {
      const event = enrich({ userId: 'u1' }, request({ sentAt: '2024-05-01T11:00:00.000Z' }));
      expect(event.timestamp).toBe(RECEIVED_AT);
      expect(Object.prototype.hasOwnProperty.call(event, 'originalTimestamp')).toBe(false);
    });

    it('does not store a batch sentAt that is not a string', () => {
      const event = enrich({ userId: 'u1', originalTimestamp: '2024-05-01T10:59:50.000Z' }, request({ sentAt: 1714561200000 }));
      expect(event.timestamp).toBe('2024-05-01T10:59:50.000Z');
      expect(Object.prototype.hasOwnProperty.call(event, 'sentAt')).toBe(false);
    });
  });
});

describe('decodeAnonymousIdHeader', () => {
  it('decodes the base64 anonymous id of the browser SDK', () => {
    // base64("anon-1") and base64("ユーザー")
    expect(decodeAnonymousIdHeader('YW5vbi0x')).toBe('anon-1');
    expect(decodeAnonymousIdHeader('44Om44O844K244O8')).toBe('ユーザー');
  });

  it('trims whitespace around the decoded id', () => {
    // base64("  anon-1 \n")
    expect(decodeAnonymousIdHeader('ICBhbm9uLTEgCg==')).toBe('anon-1');
  });

  it('is undefined without a header, or when the id is blank, holds control characters or is not UTF-8', () => {
    // base64("   "), base64("a\u0000b"), and "/w==" (the byte 0xff)
    for (const header of [undefined, '', 'ICAg', 'YQBi', '/w==']) {
      expect(decodeAnonymousIdHeader(header)).toBeUndefined();
    }
  });
});

describe('pixelEvent', () => {
  it('builds a track event: known fields at the top, dotted keys nested, other keys in properties', () => {
    const query = {
      writeKey: 'wk-secret',
      anonymousId: 'a1',
      userId: 'u1',
      event: 'Email Opened',
      messageId: 'm-1',
      originalTimestamp: '2024-05-01T10:59:50.000Z',
      sentAt: '2024-05-01T11:00:00.000Z',
      'properties.plan': 'pro',
      'context.campaign.name': 'spring',
      color: 'red',
    };
    expect(pixelEvent(query, 'track')).toStrictEqual({
      type: 'track',
      anonymousId: 'a1',
      userId: 'u1',
      event: 'Email Opened',
      messageId: 'm-1',
      originalTimestamp: '2024-05-01T10:59:50.000Z',
      sentAt: '2024-05-01T11:00:00.000Z',
      properties: { plan: 'pro', color: 'red' },
      context: { campaign: { name: 'spring' } },
    });
  });

  it('builds a page event with its name and category', () => {
    expect(
      pixelEvent(
        { writeKey: 'wk', anonymousId: 'a1', name: 'Pricing', category: 'Docs', timestamp: '2024-05-01T11:00:00Z', url: 'https://example.com' },
        'page',
      ),
    ).toStrictEqual({
      type: 'page',
      anonymousId: 'a1',
      name: 'Pricing',
      category: 'Docs',
      timestamp: '2024-05-01T11:00:00Z',
      properties: { url: 'https://example.com' },
      context: {},
    });
  });

  it('never keeps the writeKey', () => {
    expect(JSON.stringify(pixelEvent({ writeKey: 'wk-secret', anonymousId: 'a1' }, 'track'))).not.toContain('wk-secret');
  });

  it('takes the last value of a repeated parameter', () => {
    expect(pixelEvent({ anonymousId: ['a1', 'a2'], 'properties.plan': ['free', 'pro'], color: ['red', 'blue'] }, 'track')).toStrictEqual({
      type: 'track',
      anonymousId: 'a2',
      properties: { plan: 'pro', color: 'blue' },
      context: {},
    });
  });

  it('ignores values that are not strings', () => {
    expect(pixelEvent({ anonymousId: 'a1', nested: { b: 'c' }, empty: [], count: 3 }, 'track')).toStrictEqual({
      type: 'track',
      anonymousId: 'a1',
      properties: {},
      context: {},
    });
  });

  it('ignores keys that could reach a prototype', () => {
    const query = JSON.parse(
      '{"anonymousId":"a1","__proto__.x":"1","constructor.prototype.x":"1","properties.__proto__.x":"1","__proto__":"1","context..x":"1"}',
    );
    const event = pixelEvent(query, 'track');
    expect(event).toStrictEqual({ type: 'track', anonymousId: 'a1', properties: {}, context: {} });
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(Object.getPrototypeOf(event.properties)).toBe(Object.prototype);
  });
});
