import { sanitizeJsonForPostgres } from './json';

// JSON texts are written with String.raw, so `\u0000` below is the six-character JSON escape.
describe('sanitizeJsonForPostgres', () => {
  it('returns a text without \\u escapes unchanged', () => {
    const json = String.raw`{"event":"Signed Up","text":"line\nbreak \"quoted\" \\ slash","emoji":"😀"}`;
    expect(sanitizeJsonForPostgres(json)).toBe(json);
  });

  it('replaces an escaped NUL with U+FFFD', () => {
    expect(sanitizeJsonForPostgres(String.raw`{"v":"a\u0000b"}`)).toBe(String.raw`{"v":"a\ufffdb"}`);
  });

  it('replaces every one of consecutive NULs', () => {
    expect(sanitizeJsonForPostgres(String.raw`{"v":"\u0000\u0000\u0000"}`)).toBe(String.raw`{"v":"\ufffd\ufffd\ufffd"}`);
    expect(sanitizeJsonForPostgres(String.raw`["\u0000","\u0000"]`)).toBe(String.raw`["\ufffd","\ufffd"]`);
  });

  it('replaces a lone high surrogate, at the end or followed by something else than a low one', () => {
    expect(sanitizeJsonForPostgres(String.raw`{"v":"\ud800"}`)).toBe(String.raw`{"v":"\ufffd"}`);
    expect(sanitizeJsonForPostgres(String.raw`{"v":"\uD83Dx"}`)).toBe(String.raw`{"v":"\ufffdx"}`);
    expect(sanitizeJsonForPostgres(String.raw`{"v":"\ud83d\u0041"}`)).toBe(String.raw`{"v":"\ufffd\u0041"}`);
  });

  it('replaces a lone low surrogate', () => {
    expect(sanitizeJsonForPostgres(String.raw`{"v":"x\udc00"}`)).toBe(String.raw`{"v":"x\ufffd"}`);
    expect(sanitizeJsonForPostgres(String.raw`{"v":"\uDFFF"}`)).toBe(String.raw`{"v":"\ufffd"}`);
  });

  it('replaces a low surrogate followed by a high one (the wrong order)', () => {
    expect(sanitizeJsonForPostgres(String.raw`{"v":"\udc00\ud800"}`)).toBe(String.raw`{"v":"\ufffd\ufffd"}`);
  });

  it('keeps a valid surrogate pair written as escapes', () => {
    expect(sanitizeJsonForPostgres(String.raw`"\ud83d\ude00"`)).toBe(String.raw`"\ud83d\ude00"`);
    expect(sanitizeJsonForPostgres(String.raw`"a\uD83D\uDE00b\u0000"`)).toBe(String.raw`"a\uD83D\uDE00b\ufffd"`);
  });

  it('keeps a valid surrogate pair written as characters, as JSON.stringify writes it', () => {
    const json = JSON.stringify({ v: 'smile 😀' });
    expect(sanitizeJsonForPostgres(json)).toBe(json);
  });

  it('keeps an escaped backslash followed by the text u0000', () => {
    // The value is the seven characters \u0000, not a NUL.
    expect(sanitizeJsonForPostgres(String.raw`{"v":"\\u0000"}`)).toBe(String.raw`{"v":"\\u0000"}`);
    expect(sanitizeJsonForPostgres(String.raw`{"v":"\\\\u0000"}`)).toBe(String.raw`{"v":"\\\\u0000"}`);
    expect(sanitizeJsonForPostgres(String.raw`{"v":"\\ud800"}`)).toBe(String.raw`{"v":"\\ud800"}`);
  });

  it('replaces a NUL escape that follows an escaped backslash', () => {
    // The value is a backslash and then a NUL.
    expect(sanitizeJsonForPostgres(String.raw`{"v":"\\\u0000"}`)).toBe(String.raw`{"v":"\\\ufffd"}`);
  });

  it('replaces a lone low surrogate that follows the text \\ud800', () => {
    expect(sanitizeJsonForPostgres(String.raw`{"v":"\\ud800\udc00"}`)).toBe(String.raw`{"v":"\\ud800\ufffd"}`);
  });

  it('keeps other escapes', () => {
    const json = String.raw`{"v":"\u00e9\u0041\u001f\n"}`;
    expect(sanitizeJsonForPostgres(json)).toBe(json);
  });

  it('gives a JSON text that parses, with U+FFFD where the unstorable characters were', () => {
    const json = JSON.stringify({ a: 'x\u0000y', b: ['\ud800', 'ok\udc00'], c: { '\u0000key': 1 }, d: '\\u0000' });
    const sanitized = sanitizeJsonForPostgres(json);
    expect(sanitized).toBe(String.raw`{"a":"x\ufffdy","b":["\ufffd","ok\ufffd"],"c":{"\ufffdkey":1},"d":"\\u0000"}`);
    expect(JSON.parse(sanitized)).toEqual({ a: 'x\ufffdy', b: ['\ufffd', 'ok\ufffd'], c: { '\ufffdkey': 1 }, d: '\\u0000' });
  });
});
