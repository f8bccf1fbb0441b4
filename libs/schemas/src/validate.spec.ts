import { Type } from '@sinclair/typebox';
import { EVENT_TYPES } from './event.schema';
import { eventRejectionReason, isEventType, Validator } from './validate';

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
      expect(eventRejectionReason('track', { userId: 'u1', event: 'e', custom: { deep: [1] }, timestamp: '2024-05-01T12:00:00+02:00', sentAt: '2024-05-01T10:00:00Z' })).toBeUndefined();
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
      expect(eventRejectionReason('identify', { userId: 'u1', originalTimestamp: '2024-13-45T99:00:00Z' })).toBe('originalTimestamp must be an ISO 8601 date-time');
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
  const validator = new Validator(Type.Object({ name: Type.String({ minLength: 1 }), tags: Type.Optional(Type.Array(Type.String())), count: Type.Optional(Type.Integer()) }));

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
