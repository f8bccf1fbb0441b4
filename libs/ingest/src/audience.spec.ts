import { audienceIdOf, audienceIdReason } from './audience';

describe('audienceIdOf', () => {
  const external = (type: unknown) => ({ context: { externalId: [{ type, identifierType: 'EMAIL' }] }, properties: { listData: {} } });

  it('takes properties.audienceId, then properties.listId, then context.externalId[0].type, else "default"', () => {
    expect([
      audienceIdOf({ ...external('ext'), properties: { audienceId: 'aud', listId: 'list', listData: {} } }),
      audienceIdOf({ ...external('ext'), properties: { listId: 'list', listData: {} } }),
      audienceIdOf(external('ext')),
      audienceIdOf(external('')),
      audienceIdOf(external(7)),
      audienceIdOf({ properties: { listData: {} } }),
    ]).toEqual(['aud', 'list', 'ext', 'default', 'default', 'default']);
  });
});

describe('audienceIdReason', () => {
  const external = (type: string) => ({ context: { externalId: [{ type }] }, properties: { listData: {} } });

  it('names the field the audience id came from and what is wrong with it', () => {
    expect(audienceIdReason(external('x'.repeat(1025)))).toBe('context.externalId.0.type is longer than 1024 bytes');
    expect(audienceIdReason(external('list\u0000'))).toBe('context.externalId.0.type contains NUL (U+0000), which Postgres cannot store');
    expect(audienceIdReason({ properties: { listId: '\ud800', listData: {} } })).toBe(
      'properties.listId contains an unpaired UTF-16 surrogate, which UTF-8 cannot encode',
    );
    expect(audienceIdReason({ properties: { audienceId: '€'.repeat(342), listData: {} } })).toBe('properties.audienceId is longer than 1024 bytes');
  });

  it('accepts an id of 1024 bytes and the default', () => {
    expect([audienceIdReason(external('x'.repeat(1024))), audienceIdReason({ properties: { listData: {} } })]).toEqual([undefined, undefined]);
  });
});
