import { eventRejectionReason, idProblem } from '@evt/schemas';
import { cleanMessageId, idToString, rudderId } from './identity';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('rudderId', () => {
  // Expected values computed independently of this code, with Python:
  //   b = bytearray(hashlib.md5("<userId>:<anonymousId>".encode("utf-8")).digest())
  //   b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80
  //   then the 32 hex digits grouped 8-4-4-4-12.
  it('is the md5 of "userId:anonymousId" laid out as a version-4 UUID', () => {
    // md5("u1:a1") = f81ebccedafc5607790629e68e64b35f
    expect(rudderId('u1', 'a1')).toBe('f81ebcce-dafc-4607-b906-29e68e64b35f');
  });

  it('uses an empty user id when there is none (":a1")', () => {
    expect(rudderId(undefined, 'a1')).toBe('b09c6e0b-7298-4c66-88e1-7af047315456');
    expect(rudderId('', 'a1')).toBe('b09c6e0b-7298-4c66-88e1-7af047315456');
  });

  it('uses an empty anonymous id when there is none ("u1:")', () => {
    expect(rudderId('u1', undefined)).toBe('5eff0fc3-0944-48fa-9c04-38f62e3890ca');
  });

  it('is the id of ":" when there is neither', () => {
    expect(rudderId(undefined, undefined)).toBe('853ae90f-0351-424b-973e-a615e6487517');
  });

  it('hashes the UTF-8 bytes of non-ASCII ids', () => {
    // "ユーザー:😀anon"
    expect(rudderId('ユーザー', '😀anon')).toBe('1149a4e8-a4e9-4860-ab00-4429636389fc');
  });

  it('hashes a numeric user id as its decimal text ("12345:a1")', () => {
    expect(rudderId('12345', 'a1')).toBe('5f96a3c5-d3cd-4997-b483-51dbe20347b6');
  });

  it('gives the same person the same id every time', () => {
    expect(rudderId('u1', 'a1')).toBe(rudderId('u1', 'a1'));
    expect(rudderId('u1', 'a1')).not.toBe(rudderId('a1', 'u1'));
  });

  it('gives the same ids after more identities than it remembers have passed (its cache is emptied, not wrong)', () => {
    const ids = new Set(Array.from({ length: 25_000 }, (_, i) => rudderId(`user-${i}`, 'a1')));
    expect(ids.size).toBe(25_000);
    expect(rudderId('u1', 'a1')).toBe('f81ebcce-dafc-4607-b906-29e68e64b35f');
    expect(rudderId('user-3', 'a1')).toBe(rudderId('user-3', 'a1'));
    expect(rudderId(undefined, 'a1')).toBe('b09c6e0b-7298-4c66-88e1-7af047315456');
  });
});

describe('cleanMessageId', () => {
  it('keeps an ordinary messageId as sent', () => {
    expect(cleanMessageId('e7d6c8a2-5b0e-4f5c-9d1e-3b2a1c0d9e8f')).toBe('e7d6c8a2-5b0e-4f5c-9d1e-3b2a1c0d9e8f');
    expect(cleanMessageId('msg-1')).toBe('msg-1');
  });

  it('trims spaces, tabs and newlines at both ends', () => {
    expect(cleanMessageId('  msg-1 \t\n')).toBe('msg-1');
    expect(cleanMessageId('\r\n\tmsg-1')).toBe('msg-1');
  });

  it('trims zero-width spaces and byte-order marks at both ends', () => {
    expect(cleanMessageId('\u200bmsg-1\ufeff')).toBe('msg-1');
    expect(cleanMessageId('\ufeff \u200b msg-1 \u200b')).toBe('msg-1');
  });

  it('keeps invisible characters inside the id', () => {
    expect(cleanMessageId('msg 1\u200b2\t3')).toBe('msg 1\u200b2\t3');
  });

  it('turns a numeric messageId into its decimal text', () => {
    expect(cleanMessageId(42)).toBe('42');
    expect(cleanMessageId(0)).toBe('0');
    expect(cleanMessageId(1.5)).toBe('1.5');
  });

  it('makes a new UUID v4 when nothing is left after trimming', () => {
    for (const value of ['', '   ', '\t\n', '\u200b\ufeff', ' \u200b \ufeff ']) {
      expect(cleanMessageId(value)).toMatch(UUID_V4);
    }
  });

  it('makes a new UUID v4 for a messageId that is neither a string nor a finite number', () => {
    for (const value of [undefined, null, true, {}, ['m1'], Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(cleanMessageId(value)).toMatch(UUID_V4);
    }
  });

  it('never meets NUL or an unpaired surrogate: the schema refuses them as sent, before any cleaning', () => {
    // Cleaning would trim "\u0000abc" into "abc", another client's id: the raw id is refused first.
    for (const messageId of ['\u0000abc', 'abc\u0000', '\ud800', '\udfff', '\u200b\ud800']) {
      expect(eventRejectionReason('track', { userId: 'u1', event: 'E', messageId })).toMatch(/^messageId contains (NUL|an unpaired UTF-16 surrogate)/);
    }
  });

  it('keeps every id the schema accepts storable: trimming never splits a surrogate pair', () => {
    for (const messageId of ['\u200b😀\u200b', '\ufeff😀', '😀 ', ' ' + 'é'.repeat(511)]) {
      expect(eventRejectionReason('track', { userId: 'u1', event: 'E', messageId })).toBeUndefined();
      expect(idProblem(cleanMessageId(messageId))).toBeUndefined();
    }
  });

  it('makes a different UUID each time', () => {
    const first = cleanMessageId(undefined);
    const second = cleanMessageId(undefined);
    expect(first).toMatch(UUID_V4);
    expect(second).toMatch(UUID_V4);
    expect(first).not.toBe(second);
  });
});

describe('idToString', () => {
  it('keeps a non-empty string id', () => {
    expect(idToString('u1')).toBe('u1');
    expect(idToString('007')).toBe('007');
  });

  it('turns a finite number into its decimal text', () => {
    expect(idToString(12345)).toBe('12345');
    expect(idToString(0)).toBe('0');
    expect(idToString(-3.5)).toBe('-3.5');
  });

  it('treats an empty string, a non-finite number and any other type as no id', () => {
    for (const value of ['', Number.NaN, Number.POSITIVE_INFINITY, undefined, null, true, {}, ['u1']]) {
      expect(idToString(value)).toBeUndefined();
    }
  });
});
