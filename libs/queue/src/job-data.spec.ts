import { COMPRESS_ABOVE_BYTES, decodeJobData, encodeJobData, type JobPayload } from './job-data';

describe('job payload encoding', () => {
  it('keeps small payloads as they are', async () => {
    const payload = { events: [{ messageId: 'm' }], rejected: [] };
    expect(await encodeJobData(payload, 200)).toBe(payload);
    expect(await decodeJobData(payload)).toBe(payload);
  });

  it('compresses large payloads and gives them back exactly', async () => {
    const payload = { events: Array.from({ length: 200 }, (_, i) => ({ messageId: `m-${i}`, text: 'é ☃ \u0000 '.repeat(20) })), rejected: [] };
    const encoded = (await encodeJobData(payload, JSON.stringify(payload).length)) as { br: string };
    expect(Object.keys(encoded)).toEqual(['br']);
    expect(encoded.br.length).toBeLessThan(JSON.stringify(payload).length / 4);
    expect(JSON.stringify(payload).length).toBeGreaterThan(COMPRESS_ABOVE_BYTES);
    expect(await decodeJobData(JSON.parse(JSON.stringify(encoded)))).toEqual(payload);
  });

  it('writes the same JSON as JSON.stringify, however large, for any list of items', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024);
    const payloads: JobPayload[] = [
      { events: [], rejected: [] },
      { events: [{ a: big }, { b: '☃'.repeat(2 * 1024 * 1024) }, null, 1, 'é'], rejected: [{ id: 'r', nested: { list: [1, '\u0000', { deep: true }] } }] },
      { only: Array.from({ length: 5000 }, (_, i) => ({ i, text: `item ${i} ✓` })) },
    ];
    for (const payload of payloads) {
      const encoded = (await encodeJobData(payload, COMPRESS_ABOVE_BYTES)) as { br: string };
      expect(JSON.stringify(await decodeJobData(encoded))).toBe(JSON.stringify(payload));
    }
  });

  it('gives back what it cannot decode as it came, for the processor to reject', async () => {
    expect(await decodeJobData({ br: 'not brotli' })).toEqual({ br: 'not brotli' });
  });
});
