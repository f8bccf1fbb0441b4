import { copyValue } from './copy';

describe('copyValue (COPY text format)', () => {
  it('writes NULL as \\N and strings as they are', () => {
    expect([copyValue(null), copyValue(undefined), copyValue('plain text')]).toEqual(['\\N', '\\N', 'plain text']);
  });

  it('escapes backslash, tab, newline and carriage return, every one of them', () => {
    expect(copyValue('a\\b\tc\nd\re\tf')).toBe('a\\\\b\\tc\\nd\\re\\tf');
    expect([copyValue('x\ty'), copyValue('x\ty')]).toEqual(['x\\ty', 'x\\ty']);
  });

  it('writes objects as JSON that jsonb can hold', () => {
    expect(copyValue({ note: 'line\nbreak', nul: 'a\u0000b' })).toBe('{"note":"line\\\\nbreak","nul":"a\\\\ufffdb"}');
  });

  it('replaces U+0000 in text, which Postgres cannot store', () => {
    expect(copyValue('a\u0000b')).toBe('a\ufffdb');
  });
});
