import { brotliCompressSync } from 'node:zlib';
import { COMPRESS_ABOVE_BYTES, decodeJobData, encodeJob, encodeJobData, JobBuilder } from './job-data';

describe('job payload encoding', () => {
  it('stores small payloads as JSON text, and reads a payload written as a plain object (an earlier version) as it is', async () => {
    const payload = { events: [{ messageId: 'm' }], rejected: [] };
    expect(await encodeJobData('events', payload.events, [], 200)).toEqual({ json: '{"events":[ {"messageId":"m"}],"rejected":[]}' });
    expect(await decodeJobData(await encodeJobData('events', payload.events, [], 200))).toEqual(payload);
    expect(await decodeJobData(payload)).toBe(payload);
  });

  it('joins the items of every request, requests with none among them, into one array each', async () => {
    for (const bytes of [100, COMPRESS_ABOVE_BYTES]) {
      const job = new JobBuilder('records');
      job.add([{ a: 1 }, { a: 2 }], []);
      job.add([], [{ id: 'r1' }]);
      job.add(['é', null], [{ id: 'r2' }]);
      expect(job.count).toBe(6);
      expect(await decodeJobData(await encodeJob(job.seal(), bytes))).toEqual({
        records: [{ a: 1 }, { a: 2 }, 'é', null],
        rejected: [{ id: 'r1' }, { id: 'r2' }],
      });
      job.release();
    }
  });

  it('leaves out the requests it is told to, keeping the others whole', async () => {
    const job = new JobBuilder('events');
    const first = job.add([{ n: 1 }], []);
    job.add([{ n: 2 }, { n: 3 }], [{ id: 'r2' }]);
    const third = job.add([{ n: 4 }], [{ id: 'r4' }]);
    const kept = job.without([first, third]);
    expect(await decodeJobData(await encodeJob(kept.seal(), 10))).toEqual({ events: [{ n: 1 }, { n: 4 }], rejected: [{ id: 'r4' }] });
    kept.release();
  });

  it('leaves no half item behind when an item cannot be serialized', async () => {
    const job = new JobBuilder('events');
    job.add([{ n: 1 }], []);
    expect(() => job.add([{ n: 2 }, { n: BigInt(3) }], [])).toThrow(TypeError);
    expect(await decodeJobData(await encodeJob(job.seal(), 10))).toEqual({ events: [{ n: 1 }], rejected: [] });
    job.release();
  });

  it('compresses large payloads and gives them back exactly', async () => {
    const payload = { events: Array.from({ length: 200 }, (_, i) => ({ messageId: `m-${i}`, text: 'é ☃ \u0000 '.repeat(20) })), rejected: [] };
    const encoded = (await encodeJobData('events', payload.events, [], JSON.stringify(payload).length)) as { z: string };
    expect(Object.keys(encoded)).toEqual(['z']);
    expect(encoded.z.length).toBeLessThan(JSON.stringify(payload).length / 4);
    expect(JSON.stringify(payload).length).toBeGreaterThan(COMPRESS_ABOVE_BYTES);
    expect(await decodeJobData(JSON.parse(JSON.stringify(encoded)))).toEqual(payload);
  });

  it('gives back the same values as JSON.stringify would, however large, for any list of items', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024);
    const cases: Array<[unknown[], unknown[]]> = [
      [[], []],
      [[{ a: big }, { b: '☃'.repeat(2 * 1024 * 1024) }, null, 1, 'é'], [{ id: 'r', nested: { list: [1, '\u0000', { deep: true }] } }]],
      [Array.from({ length: 5000 }, (_, i) => ({ i, text: `item ${i} ✓` })), []],
    ];
    for (const [items, rejected] of cases) {
      const encoded = await encodeJobData('lists', items, rejected, COMPRESS_ABOVE_BYTES);
      expect(JSON.stringify(await decodeJobData(encoded))).toBe(JSON.stringify({ lists: items, rejected }));
    }
  });

  it('reads the Brotli jobs of earlier versions', async () => {
    const payload = { events: [{ messageId: 'old' }], rejected: [] };
    expect(await decodeJobData({ br: brotliCompressSync(JSON.stringify(payload)).toString('base64') })).toEqual(payload);
  });

  it('gives back what it cannot decode as it came, for the processor to reject', async () => {
    expect(await decodeJobData({ br: 'not brotli' })).toEqual({ br: 'not brotli' });
    expect(await decodeJobData({ z: 'not deflate' })).toEqual({ z: 'not deflate' });
    expect(await decodeJobData({ json: '{"events":' })).toEqual({ json: '{"events":' });
  });
});
