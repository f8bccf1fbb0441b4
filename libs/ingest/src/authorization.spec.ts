import { parseBasicAuthorization } from './authorization';

// Base64 texts are written out (computed with `Buffer.from(text).toString('base64')`) so that a
// change in how the header is decoded cannot go unnoticed.
describe('parseBasicAuthorization', () => {
  describe('reads the write key as the user name', () => {
    it('reads base64("key:"), what the RudderStack SDKs send, with an empty password', () => {
      expect(parseBasicAuthorization('Basic a2V5Og==')).toEqual({ user: 'key', password: '' });
    });

    it('reads base64("key") without a colon as the user name with an empty password', () => {
      expect(parseBasicAuthorization('Basic a2V5')).toEqual({ user: 'key', password: '' });
    });

    it('keeps the password, splitting only at the first colon', () => {
      // base64("key:secret:with:colons")
      expect(parseBasicAuthorization('Basic a2V5OnNlY3JldDp3aXRoOmNvbG9ucw==')).toEqual({ user: 'key', password: 'secret:with:colons' });
    });

    it('decodes UTF-8 user names and passwords', () => {
      // base64("clé:mot de passe")
      expect(parseBasicAuthorization('Basic Y2zDqTptb3QgZGUgcGFzc2U=')).toEqual({ user: 'clé', password: 'mot de passe' });
    });

    it('accepts the scheme name in any case', () => {
      expect(parseBasicAuthorization('basic a2V5Og==')).toEqual({ user: 'key', password: '' });
      expect(parseBasicAuthorization('BASIC a2V5Og==')).toEqual({ user: 'key', password: '' });
    });

    it('accepts extra spaces around and inside the header', () => {
      expect(parseBasicAuthorization('  Basic    a2V5Og==  ')).toEqual({ user: 'key', password: '' });
      expect(parseBasicAuthorization('Basic\ta2V5Og==')).toEqual({ user: 'key', password: '' });
    });

    it('accepts base64 without padding', () => {
      expect(parseBasicAuthorization('Basic a2V5Og')).toEqual({ user: 'key', password: '' });
    });

    it('accepts the URL-safe base64 alphabet (- and _)', () => {
      // base64("wk>>>:") is d2s+Pj46; base64("k>?>:") is az4/Pjo=
      expect(parseBasicAuthorization('Basic d2s-Pj46')).toEqual({ user: 'wk>>>', password: '' });
      expect(parseBasicAuthorization('Basic az4_Pjo=')).toEqual({ user: 'k>?>', password: '' });
    });
  });

  describe('answers undefined for a header it cannot use', () => {
    it('has no header at all', () => {
      expect(parseBasicAuthorization(undefined)).toBeUndefined();
      expect(parseBasicAuthorization('')).toBeUndefined();
    });

    it('uses another scheme than Basic', () => {
      expect(parseBasicAuthorization('Bearer a2V5Og==')).toBeUndefined();
      expect(parseBasicAuthorization('Digest username="key"')).toBeUndefined();
      expect(parseBasicAuthorization('a2V5Og==')).toBeUndefined();
    });

    it('has no space between the scheme and the credentials, or no credentials', () => {
      expect(parseBasicAuthorization('Basica2V5Og==')).toBeUndefined();
      expect(parseBasicAuthorization('Basic')).toBeUndefined();
      expect(parseBasicAuthorization('Basic    ')).toBeUndefined();
    });

    it('holds characters that are not base64', () => {
      expect(parseBasicAuthorization('Basic !!!!')).toBeUndefined();
      expect(parseBasicAuthorization('Basic a2V5 Og==')).toBeUndefined();
      expect(parseBasicAuthorization('Basic a2V5Og==:extra')).toBeUndefined();
    });

    it('decodes to bytes that are not UTF-8 text', () => {
      // "/w==" is the single byte 0xff
      expect(parseBasicAuthorization('Basic /w==')).toBeUndefined();
    });

    it('has an empty user name', () => {
      // base64(":secret")
      expect(parseBasicAuthorization('Basic OnNlY3JldA==')).toBeUndefined();
      // base64(":")
      expect(parseBasicAuthorization('Basic Og==')).toBeUndefined();
    });

    it('has control characters in the user name', () => {
      // base64("ke\ny:"), base64("key\u0000:"), base64("key\u007f:"), base64("\u0001key:")
      expect(parseBasicAuthorization('Basic a2UKeTo=')).toBeUndefined();
      expect(parseBasicAuthorization('Basic a2V5ADo=')).toBeUndefined();
      expect(parseBasicAuthorization('Basic a2V5fzo=')).toBeUndefined();
      expect(parseBasicAuthorization('Basic AWtleTo=')).toBeUndefined();
    });
  });
});
