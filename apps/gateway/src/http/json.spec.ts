import { jsonTextFacts, JsonTextFacts, knownStorable, MAX_JSON_DEPTH, parseJson } from './json';

const facts = (text: string, depth = MAX_JSON_DEPTH) => jsonTextFacts(Buffer.from(text), depth);

describe('jsonTextFacts', () => {
  it('finds nothing in an ordinary event, whatever its words and numbers', () => {
    expect(facts('{"type":"track","event":"eEe \\" e1","properties":{"ok":true,"no":false,"n":-12.5,"z":0,"list":[1,2,null]}}')).toBe(JsonTextFacts.None);
    expect(facts('{"text":"a\\\\u0000 is an escaped backslash, then u0000","tab":"\\t","quote":"\\""}')).toBe(JsonTextFacts.None);
  });

  it('flags every \\u escape, in values and in keys', () => {
    expect(facts('{"name":"\\u0000"}')).toBe(JsonTextFacts.MayBeUnstorable);
    expect(facts('{"name":"\\ud800"}')).toBe(JsonTextFacts.MayBeUnstorable);
    expect(facts('{"\\u00e9":1}')).toBe(JsonTextFacts.MayBeUnstorable);
  });

  it('flags numbers that may overflow: any exponent, or 300 digits in a row', () => {
    expect(facts('{"n":1e400}')).toBe(JsonTextFacts.MayBeUnstorable);
    expect(facts('[2.5E-3]')).toBe(JsonTextFacts.MayBeUnstorable);
    expect(facts(`[${'9'.repeat(300)}]`)).toBe(JsonTextFacts.MayBeUnstorable);
    expect(facts(`[${'9'.repeat(299)}, ${'9'.repeat(299)}]`)).toBe(JsonTextFacts.None);
  });

  it('says when objects and arrays nest deeper than the limit, strings aside', () => {
    expect(facts('[[[1]]]', 3)).toBe(JsonTextFacts.None);
    expect(facts('[[[[1]]]]', 3) & JsonTextFacts.TooDeep).toBe(JsonTextFacts.TooDeep);
    expect(facts('["[[[[[["]', 3)).toBe(JsonTextFacts.None);
  });
});

describe('parseJson', () => {
  it('marks a parsed body as known storable only when its text cannot hold anything Postgres cannot keep', () => {
    expect(knownStorable(parseJson(Buffer.from('{"batch":[{"type":"track","event":"é ✓"}]}')))).toBe(true);
    expect(knownStorable(parseJson(Buffer.from('{"batch":[{"type":"track","event":"\\u0000"}]}')))).toBe(false);
    expect(knownStorable(parseJson(Buffer.from('{"n":1e400}')))).toBe(false);
    expect(knownStorable(parseJson(Buffer.from('"a string"')))).toBe(false);
    expect(knownStorable({ batch: [] })).toBe(false);
  });

  it('refuses JSON nested deeper than MAX_JSON_DEPTH, and text that is not JSON', () => {
    expect(() => parseJson(Buffer.from(`${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`))).toThrow(
      `JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
    );
    expect(() => parseJson(Buffer.from('{"a":'))).toThrow('Invalid JSON');
    expect(() => parseJson(Buffer.alloc(0))).toThrow('Invalid JSON');
  });
});
