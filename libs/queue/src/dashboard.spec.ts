import { encodeJobData } from './job-data';
import { readableJobData } from './dashboard';

describe('readableJobData (what the queue dashboard shows of a job)', () => {
  it('decodes jobs as the producers store them: JSON text, and deflated above COMPRESS_ABOVE_BYTES', async () => {
    const items = [{ messageId: 'm-1', event: 'Signed Up' }];
    for (const bytes of [100, 64 * 1024]) {
      const stored = await encodeJobData('events', items, [], bytes);
      expect(Object.keys(stored)).toEqual([bytes < 16 * 1024 ? 'json' : 'z']);
      expect(readableJobData(stored)).toEqual({ events: items, rejected: [] });
    }
  });

  it('shows anything else as it is: plain objects, and payloads it cannot read', () => {
    const plain = { events: [], rejected: [] };
    expect(readableJobData(plain)).toBe(plain);
    expect(readableJobData({ z: 'not deflate' })).toEqual({ z: 'not deflate' });
    expect(readableJobData({ json: '{' })).toEqual({ json: '{' });
    expect(readableJobData(null)).toBeNull();
  });
});
