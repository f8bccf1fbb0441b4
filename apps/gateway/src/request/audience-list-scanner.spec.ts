import { InvalidJsonError, InvalidRequestError } from '@evt/errors';
import { AudienceListScanner } from './audience-list-scanner';
import { parseJsonText, type MemberList } from './audience-list-syntax';

/** Scans `text` cut into pieces of `step` bytes: the members as parsed (as the gateway parses each), and the other fields. */
function scan(text: string, step = text.length || 1, maxValueBytes = 1 << 20) {
  const members: Array<[MemberList, number, unknown]> = [];
  const scanner = new AudienceListScanner((list, index, raw) => members.push([list, index, parseJsonText(raw)]), maxValueBytes);
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += step) scanner.write(bytes.subarray(i, i + step));
  return { fields: scanner.end(), members };
}

describe('AudienceListScanner', () => {
  const list = {
    messageId: 'm-1',
    properties: {
      listData: { remove: [{ EMAIL: 'r@x.io', n: [1, { deep: '}]"\\' }] }], add: [{ EMAIL: 'a@x.io' }, { EMAIL: 'b\u00e9@x.io', n: -1.5e3 }], other: true },
      audienceId: 'aud',
    },
    context: { externalId: [{ type: 'T', identifierType: 'EMAIL' }] },
  };
  const text = JSON.stringify(list, null, 1);

  it.each([1, 2, 3, 7, 64, 100_000])('reads members and fields whatever their order, cut every %i bytes', (step) => {
    const { fields, members } = scan(text, step);
    const expected = JSON.parse(text);
    expected.properties.listData.add = [];
    expected.properties.listData.remove = [];
    expect(fields).toEqual(expected);
    expect(members).toEqual([
      ['remove', 0, { EMAIL: 'r@x.io', n: [1, { deep: '}]"\\' }] }],
      ['add', 0, { EMAIL: 'a@x.io' }],
      ['add', 1, { EMAIL: 'bé@x.io', n: -1500 }],
    ]);
  });

  it('keeps a `__proto__` key as a key, as JSON.parse does', () => {
    const { fields } = scan('{"__proto__":{"polluted":1},"properties":{"listData":{}}}', 5);
    expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
    expect(Object.keys(fields as object)).toEqual(['__proto__', 'properties']);
  });

  it('keeps a listData that is not an object, and roots that are not objects, as values', () => {
    expect(scan('{"properties":{"listData":[1]}}').fields).toEqual({ properties: { listData: [1] } });
    expect(scan('{"properties":{"listData":{"add":{"x":1}}}}').fields).toEqual({ properties: { listData: { add: { x: 1 } } } });
    expect(scan(' [1, 2] ').fields).toEqual([1, 2]);
    expect(scan('42').fields).toBe(42);
    expect(scan('"s"', 1).fields).toBe('s');
  });

  it.each([
    '',
    '{',
    '{"a":1,}',
    '{"a" 1}',
    '{"properties":{"listData":{"add":[{"a":1},]}}}',
    '{"properties":{"listData":{"add":[{"a":1}{"b":2}]}}}',
    '{"a":1} x',
    '{"a":01}',
    '{"a":tru}',
    '{"properties":{"listData":{"add":[{"a":"\u0001"}]}}}',
    '{,"a":1}',
    '{"a":1,"properties":{"listData":{"add":[,]}}}',
  ])('%j is Invalid JSON, as JSON.parse says', (bad) => {
    expect(() => JSON.parse(bad)).toThrow();
    expect(() => scan(bad, 1)).toThrow(InvalidJsonError);
  });

  it('refuses a member array given twice, deep nesting and oversized values with a reason', () => {
    expect(() => scan('{"properties":{"listData":{"add":[],"add":[]}}}')).toThrow(new InvalidRequestError('properties.listData.add appears twice'));
    expect(() => scan(`{"properties":{"listData":{"add":[${'['.repeat(130)}${']'.repeat(130)}]}}}`)).toThrow(
      new InvalidRequestError('JSON nested deeper than 128 levels'),
    );
    const long = '0123456789'.repeat(4);
    expect(() => scan(`{"properties":{"listData":{"add":[{"a":1},{"a":"${long}"}]}}}`, 3, 30)).toThrow(
      new InvalidRequestError('properties.listData.add.1 is larger than 30 bytes'),
    );
    expect(() => scan(`{"properties":{"listData":{"add":[]}},"m":"${long}"}`, 3, 30)).toThrow(
      new InvalidRequestError('the fields other than properties.listData.add and .remove are larger than 30 bytes'),
    );
  });
});
