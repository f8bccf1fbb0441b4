import type { Queue } from 'bullmq';
import { ServiceUnavailableError } from '@evt/errors';
import { Backlog, CoalescingProducer } from './coalescing-producer';

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
    expect(writes.map((write) => write.data)).toEqual([{ events: ['a', 'b'], rejected: [] }]);

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
