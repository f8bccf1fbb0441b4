import { idProblem, MAX_ID_BYTES, numberProblem, textProblem, unstorableValueReason } from './storable';

describe('idProblem', () => {
  const TOO_LONG = 'is longer than 1024 bytes';

  it('accepts up to 1024 bytes of UTF-8 and refuses one byte more, however the bytes are made', () => {
    expect(MAX_ID_BYTES).toBe(1024);
    const cases: Array<[string, string]> = [
      ['ascii', 'a'.repeat(1024)],
      ['two-byte é', 'é'.repeat(512)],
      ['three-byte €', '€'.repeat(341) + 'a'],
      ['four-byte 😀 (a surrogate pair)', '😀'.repeat(256)],
    ];
    for (const [name, id] of cases) {
      expect([name, Buffer.byteLength(id), idProblem(id), idProblem(id + 'a')]).toEqual([name, 1024, undefined, TOO_LONG]);
    }
  });

  it('counts bytes, not UTF-16 units: 400 characters of € are 1200 bytes', () => {
    expect(idProblem('€'.repeat(400))).toBe(TOO_LONG);
    expect(idProblem('a'.repeat(400))).toBeUndefined();
  });

  it('refuses NUL anywhere and unpaired surrogates of either half', () => {
    expect([idProblem('\u0000abc'), idProblem('ab\u0000c'), idProblem('abc\u0000')]).toEqual(
      Array(3).fill('contains NUL (U+0000), which Postgres cannot store'),
    );
    const unpaired = 'contains an unpaired UTF-16 surrogate, which UTF-8 cannot encode';
    expect([idProblem('\ud800'), idProblem('\udfff'), idProblem('a\udc00\ud800b'), idProblem('😀'.slice(0, 1))]).toEqual(Array(4).fill(unpaired));
  });

  it('accepts ordinary ids, empty included (emptiness is the schema’s business)', () => {
    expect(['', 'u-1', 'user@example.com', '42', 'ユーザー', '😀'].map(idProblem)).toEqual(Array(6).fill(undefined));
  });
});

describe('textProblem and numberProblem', () => {
  it('have no bound on length, only on what Postgres can hold', () => {
    expect(textProblem('x'.repeat(100_000))).toBeUndefined();
    expect(textProblem('x\u0000')).toBe('contains NUL (U+0000), which Postgres cannot store');
  });

  it('refuse what JSON.parse makes of numbers beyond a double', () => {
    expect([JSON.parse('1e400'), JSON.parse('-1e400')].map(numberProblem)).toEqual(['is a number too large to store', 'is a number too large to store']);
    expect([0, -0, 1.5, Number.MAX_VALUE, JSON.parse('1e308')].map(numberProblem)).toEqual(Array(5).fill(undefined));
  });
});

describe('unstorableValueReason', () => {
  const event = (properties: unknown) => JSON.parse(JSON.stringify({ type: 'track', userId: 'u', context: { library: { name: 'x' } }, properties }));

  it('accepts an ordinary event, nested arrays, nulls and booleans', () => {
    expect(unstorableValueReason(event({ a: [1, 'two', null, true, { b: [[]] }], c: 'é😀' }))).toBeUndefined();
  });

  it('names the dotted path of a NUL or an unpaired surrogate in a value', () => {
    expect(unstorableValueReason(event({ name: 'a\u0000b' }))).toBe('properties.name contains NUL (U+0000), which Postgres cannot store');
    expect(unstorableValueReason(event({ list: ['ok', { deep: '\udfff' }] }))).toBe(
      'properties.list.1.deep contains an unpaired UTF-16 surrogate, which UTF-8 cannot encode',
    );
  });

  it('checks keys as well as values', () => {
    expect(unstorableValueReason(event({ 'a\u0000': 1 }))).toBe('a key of properties contains NUL (U+0000), which Postgres cannot store');
    expect(unstorableValueReason({ '\ud800': 1 })).toBe('a key of event contains an unpaired UTF-16 surrogate, which UTF-8 cannot encode');
  });

  it('refuses a non-finite number, as JSON.parse reads 1e400', () => {
    expect(unstorableValueReason(JSON.parse('{"userId":"u","properties":{"total":1e400}}'))).toBe('properties.total is a number too large to store');
  });

  it('names the root `event`, or the path it is given, and reports the first problem in order', () => {
    expect(unstorableValueReason('\u0000')).toBe('event contains NUL (U+0000), which Postgres cannot store');
    expect(unstorableValueReason({ x: Infinity }, 'payload')).toBe('payload.x is a number too large to store');
    expect(unstorableValueReason({ a: '\u0000', b: '\ud800' })).toBe('a contains NUL (U+0000), which Postgres cannot store');
  });

  it('reads a `__proto__` key of parsed JSON as the own key it is', () => {
    expect(unstorableValueReason(JSON.parse('{"__proto__":{"x":"\\u0000"}}'))).toBe('__proto__.x contains NUL (U+0000), which Postgres cannot store');
  });
});
