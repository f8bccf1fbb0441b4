import { isPlainObject, mergeUnder, setOwn, setPath, type Dictionary } from './objects';

afterEach(() => {
  // No test may leave anything on the shared prototype.
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
});

describe('isPlainObject', () => {
  it('is true for objects and false for arrays, null and primitives', () => {
    expect([{}, { a: 1 }, Object.create(null)].map(isPlainObject)).toEqual([true, true, true]);
    expect([[], null, undefined, 'a', 1, true].map(isPlainObject)).toEqual([false, false, false, false, false, false]);
  });
});

describe('mergeUnder', () => {
  it('merges deeply, the own value winning over the base one', () => {
    const base = { library: { name: 'sdk', version: '1.0.0' }, locale: 'en-US', ip: '10.0.0.1' };
    const own = { library: { version: '2.0.0' }, ip: '203.0.113.7', page: { url: 'https://example.com' } };
    expect(mergeUnder(base, own)).toEqual({
      library: { name: 'sdk', version: '2.0.0' },
      locale: 'en-US',
      ip: '203.0.113.7',
      page: { url: 'https://example.com' },
    });
  });

  it('replaces arrays and mismatched types whole instead of merging them', () => {
    expect(mergeUnder({ tags: ['a', 'b'], a: { x: 1 }, b: 'text' }, { tags: ['c'], a: 'flat', b: { y: 2 } })).toEqual({ tags: ['c'], a: 'flat', b: { y: 2 } });
  });

  it('lets an own null win over the base value', () => {
    expect(mergeUnder({ a: { x: 1 } }, { a: null })).toEqual({ a: null });
    expect(mergeUnder({ a: 1 }, null)).toBeNull();
  });

  it('gives the base when there is no own value, and the own value when the base is not an object', () => {
    const base = { a: 1 };
    expect(mergeUnder(base, undefined)).toBe(base);
    expect(mergeUnder(base, 'own')).toBe('own');
    expect(mergeUnder('base', { b: 2 })).toEqual({ b: 2 });
    expect(mergeUnder(undefined, { b: 2 })).toEqual({ b: 2 });
    expect(mergeUnder(['base'], undefined)).toBeUndefined();
  });

  it('changes neither input', () => {
    const base = { library: { name: 'sdk' }, list: [1] };
    const own = { library: { version: '2' } };
    mergeUnder(base, own);
    expect(base).toEqual({ library: { name: 'sdk' }, list: [1] });
    expect(own).toEqual({ library: { version: '2' } });
  });

  it('keeps a JSON "__proto__" key of the base as own data without changing any prototype', () => {
    const merged = mergeUnder(JSON.parse('{"__proto__":{"polluted":1}}'), { a: 1 }) as Dictionary;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(JSON.stringify(merged)).toBe('{"__proto__":{"polluted":1},"a":1}');
  });

  it('keeps a JSON "__proto__" key of the own value as own data without changing any prototype', () => {
    const merged = mergeUnder({ a: 1 }, JSON.parse('{"__proto__":{"polluted":1}}')) as Dictionary;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(JSON.stringify(merged)).toBe('{"a":1,"__proto__":{"polluted":1}}');
  });

  it('merges "__proto__" keys present on both sides like any other key', () => {
    const merged = mergeUnder(JSON.parse('{"__proto__":{"polluted":1,"x":1}}'), JSON.parse('{"__proto__":{"x":2}}')) as Dictionary;
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(JSON.stringify(merged)).toBe('{"__proto__":{"polluted":1,"x":2}}');
  });
});

describe('setOwn', () => {
  it('sets an ordinary key', () => {
    const target: Dictionary = {};
    setOwn(target, 'plan', 'pro');
    expect(target).toEqual({ plan: 'pro' });
  });

  it('sets "__proto__" as an own, enumerable property and leaves the prototype alone', () => {
    const target: Dictionary = {};
    setOwn(target, '__proto__', { polluted: 1 });
    expect(Object.getPrototypeOf(target)).toBe(Object.prototype);
    expect(Object.keys(target)).toEqual(['__proto__']);
    expect(JSON.stringify(target)).toBe('{"__proto__":{"polluted":1}}');
  });
});

describe('setPath', () => {
  it('creates the objects along a dotted path', () => {
    const target: Dictionary = {};
    setPath(target, 'context.page.url', 'https://example.com');
    expect(target).toEqual({ context: { page: { url: 'https://example.com' } } });
  });

  it('keeps what the objects along the path already hold', () => {
    const target: Dictionary = { properties: { plan: 'pro' } };
    setPath(target, 'properties.seats', '3');
    expect(target).toEqual({ properties: { plan: 'pro', seats: '3' } });
  });

  it('sets a single-segment path at the top', () => {
    const target: Dictionary = { a: 1 };
    setPath(target, 'b', 2);
    expect(target).toEqual({ a: 1, b: 2 });
  });

  it('replaces a value in the way that is not an object', () => {
    const target: Dictionary = { properties: 'text', list: ['a'] };
    setPath(target, 'properties.plan', 'pro');
    setPath(target, 'list.first', 'b');
    expect(target).toEqual({ properties: { plan: 'pro' }, list: { first: 'b' } });
  });

  it('ignores paths that could reach a prototype', () => {
    const target: Dictionary = {};
    for (const path of ['__proto__.polluted', 'a.__proto__.polluted', 'constructor.prototype.polluted', 'properties.constructor', 'prototype.polluted']) {
      setPath(target, path, 'yes');
    }
    expect(target).toEqual({});
    expect(Object.getPrototypeOf(target)).toBe(Object.prototype);
  });

  it('ignores paths with an empty segment', () => {
    const target: Dictionary = {};
    for (const path of ['', '.a', 'a.', 'a..b']) setPath(target, path, 'yes');
    expect(target).toEqual({});
  });
});
