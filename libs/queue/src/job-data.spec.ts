import { COMPRESS_ABOVE_BYTES, decodeJobData, encodeJobData } from './job-data';

describe('job payload encoding', () => {
  it('keeps small payloads as they are', async () => {
    const payload = { events: [{ messageId: 'm' }], rejected: [] };
    expect(await encodeJobData(payload)).toBe(payload);
    expect(await decodeJobData(payload)).toBe(payload);
  });

  it('compresses large payloads and gives them back exactly', async () => {
    const payload = { events: Array.from({ length: 200 }, (_, i) => ({ messageId: `m-${i}`, text: 'é ☃ \u0000 '.repeat(20) })), rejected: [] };
    const encoded = (await encodeJobData(payload)) as { br: string };
    expect(Object.keys(encoded)).toEqual(['br']);
    expect(encoded.br.length).toBeLessThan(JSON.stringify(payload).length / 4);
    expect(JSON.stringify(payload).length).toBeGreaterThan(COMPRESS_ABOVE_BYTES);
    expect(await decodeJobData(JSON.parse(JSON.stringify(encoded)))).toEqual(payload);
  });

  it('gives back what it cannot decode as it came, for the processor to reject', async () => {
    expect(await decodeJobData({ br: 'not brotli' })).toEqual({ br: 'not brotli' });
  });
});
