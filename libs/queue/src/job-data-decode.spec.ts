import { decodeJobData, decodeJobDataSync, encodeJobData } from './job-data';

describe('decodeJobDataSync (what the queue dashboard shows of a job)', () => {
  it('decodes jobs as the producers store them: JSON text, and deflated above COMPRESS_ABOVE_BYTES', async () => {
    const items = [{ messageId: 'm-1', event: 'Signed Up' }];
    for (const bytes of [100, 64 * 1024]) {
      const stored = await encodeJobData('events', items, [], bytes);
      expect(Object.keys(stored)).toEqual([bytes < 16 * 1024 ? 'json' : 'z']);
      expect(decodeJobDataSync(stored)).toEqual({ events: items, rejected: [] });
      expect(await decodeJobData(stored)).toEqual({ events: items, rejected: [] });
    }
  });

  it('shows anything else as it is: plain objects, and payloads it cannot read', () => {
    const plain = { events: [], rejected: [] };
    expect(decodeJobDataSync(plain)).toBe(plain);
    expect(decodeJobDataSync({ z: 'not deflate' })).toEqual({ z: 'not deflate' });
    expect(decodeJobDataSync({ json: '{' })).toEqual({ json: '{' });
    expect(decodeJobDataSync(null)).toBeNull();
  });
});
