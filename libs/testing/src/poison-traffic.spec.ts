import fc from 'fast-check';
import { jsonDifference } from './poison-accounting';
import { longId, renderRequest, type PoisonTargets, type RequestPlan } from './poison-traffic';

const targets: PoisonTargets = {
  sources: [
    { id: 's1', workspaceId: 'w1', writeKey: 'k1' },
    { id: 's2', workspaceId: 'w2', writeKey: 'k2' },
  ],
  replay: { id: 'r', originalSourceId: 's2', workspaceId: 'w2' },
  retl: { id: 't', workspaceId: 'w1', destinationId: 'd' },
};

/** Deepest nesting of objects and arrays in JSON text (strings skipped). */
function depth(text: string): number {
  let level = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') deepest = Math.max(deepest, ++level);
    else if (c === '}' || c === ']') level--;
  }
  return deepest;
}

describe('poison traffic', () => {
  it('nests to exactly the limit on every route, and one level over when asked', () => {
    for (const route of ['track', 'batch', 'internal-batch', 'retl', 'audiencelist', 'replay', 'extract'] as const) {
      for (const over of [false, true]) {
        const plan: RequestPlan = { route, source: 0, items: [{ type: 'track', hostility: { kind: 'nesting', over } }] };
        const request = renderRequest(plan, targets, 'x', () => 0, 128);
        expect([route, over, depth(request.body)]).toEqual([route, over, over ? 129 : 128]);
      }
    }
  });

  it('sends 1e400 as raw JSON text, and own __proto__ and constructor keys', () => {
    const request = renderRequest(
      {
        route: 'batch',
        source: 1,
        items: [
          { type: 'track', hostility: { kind: 'number', text: '1e400' } },
          { type: 'identify', hostility: { kind: 'proto-keys' } },
        ],
      },
      targets,
      'x',
      () => 7,
      128,
    );
    expect(request.body).toContain('"big":1e400');
    const [first, second] = (JSON.parse(request.body) as { batch: Array<{ properties: Record<string, unknown> }> }).batch;
    expect(first.properties.big).toBe(Infinity);
    expect(Object.hasOwn(second.properties, '__proto__')).toBe(true);
    expect(Object.hasOwn(second, '__proto__')).toBe(true);
  });

  it('draws over-long ids of more than 1,024 UTF-8 bytes, or exactly 1,024', () => {
    fc.assert(fc.property(longId, (id) => Buffer.byteLength(id) >= 1024));
  });
});

describe('jsonDifference', () => {
  it('finds what storage changed: a number beyond a double, a dropped own __proto__ key', () => {
    expect(jsonDifference(JSON.parse('{"a":{"big":1e400}}'), { a: { big: null } })).toBe('a.big: Infinity ≠ null');
    expect(jsonDifference(JSON.parse('{"__proto__":{"x":1},"b":2}'), { b: 2 })).toBe('__proto__: sent but not stored');
    expect(jsonDifference({ a: '\ud800' }, { a: '\ufffd' })).toBeDefined();
  });

  it('ignores key order and the keys it is told to', () => {
    expect(jsonDifference({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 })).toBeUndefined();
    expect(jsonDifference({ a: 1 }, { a: 1, receivedAt: 'now' }, '', new Set(['receivedAt']))).toBeUndefined();
  });
});
