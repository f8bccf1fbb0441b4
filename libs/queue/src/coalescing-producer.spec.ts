import type { Queue } from 'bullmq';
import { ServiceUnavailableError } from '@evt/errors';
import { Backlog, CoalescingProducer } from './coalescing-producer';
import { decodeJobData } from './job-data';

/** A queue whose writes finish when the test says so. */
function slowQueue() {
  const writes: Array<{ data: unknown; finish: () => void }> = [];
  const queue = { name: 'events', add: (_name: string, data: unknown) => new Promise<void>((finish) => writes.push({ data, finish })) } as unknown as Queue;
  return { queue, writes };
}

const options = { itemsKey: 'events', timeoutMs: 5000, maxItemsPerJob: 100, maxBytesPerJob: 1 << 20 };
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('CoalescingProducer.drain', () => {
  it('resolves once the writes in flight are stored, and refuses new requests meanwhile', async () => {
    const { queue, writes } = slowQueue();
    const producer = new CoalescingProducer<string>(queue, () => true, new Backlog(1 << 20), options);
    const accepted = producer.enqueue({ items: ['a', 'b'], rejected: [], bytes: 10 });
    await settled();
    expect(await Promise.all(writes.map((write) => decodeJobData(write.data)))).toEqual([{ events: ['a', 'b'], rejected: [] }]);

    let drained = false;
    const drain = producer.drain().then(() => (drained = true));
    await expect(producer.enqueue({ items: ['c'], rejected: [], bytes: 1 })).rejects.toThrow(ServiceUnavailableError);
    await settled();
    expect(drained).toBe(false);
    writes[0].finish();
    await Promise.all([accepted, drain]);
    expect(drained).toBe(true);
  });

  it('resolves at once when nothing is pending, and after requests refused for want of Redis', async () => {
    const { queue } = slowQueue();
    await new CoalescingProducer<string>(queue, () => true, new Backlog(10), options).drain();
    let ready = true;
    const producer = new CoalescingProducer<string>(queue, () => ready, new Backlog(1 << 20), options);
    const request = producer.enqueue({ items: ['a'], rejected: [], bytes: 1 });
    ready = false;
    await Promise.all([expect(request).rejects.toThrow(ServiceUnavailableError), producer.drain()]);
  });
});

describe('CoalescingProducer, a request that waited too long', () => {
  afterEach(() => jest.restoreAllMocks());

  it('is answered 503 and left out of the job it was gathered into; the others of that job are stored', async () => {
    // The producer's clock, moved by hand: the writes' own timeouts (real timers) stay far away.
    let now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const { queue, writes } = slowQueue();
    const producer = new CoalescingProducer<string>(queue, () => true, new Backlog(1 << 20), { ...options, timeoutMs: 5000, maxConcurrentWrites: 1 });
    const first = producer.enqueue({ items: ['a'], rejected: [], bytes: 1 });
    await settled();
    // Both gather into the next job while the first write is in flight; the second has waited too long by the time it is taken.
    const late = producer.enqueue({ items: ['b'], rejected: [{ id: 'r-b' } as never], bytes: 1 });
    now += 4000;
    const fresh = producer.enqueue({ items: ['c', 'd'], rejected: [{ id: 'r-c' } as never], bytes: 2 });
    now += 2000;
    writes[0].finish();
    await first;
    await expect(late).rejects.toThrow(ServiceUnavailableError);
    await settled();
    expect(writes).toHaveLength(2);
    expect(await decodeJobData(writes[1].data)).toEqual({ events: ['c', 'd'], rejected: [{ id: 'r-c' }] });
    writes[1].finish();
    await fresh;
  });
});
