import { keySlot } from './key-slot';
import { allQueueShards, queueKey, queueLayout, queueShards } from './queue-layout';

describe('queue layout', () => {
  it('keeps the names of earlier versions on one Redis with one events shard', () => {
    const layout = queueLayout('redis://127.0.0.1:6379', 'evt');
    expect(allQueueShards(layout).map((shard) => shard.name)).toEqual(['events', 'replay', 'retl', 'audiencelist', 'extract', 'internal-batch']);
    expect(queueKey(layout, queueShards(layout, 'events')[0], 'wait')).toBe('evt:events:wait');
  });

  it('shards the events queue only: shard 0 keeps its name, the others are events-1…; ordered queues stay one', () => {
    const layout = queueLayout('redis://127.0.0.1:6379', 'evt', 4);
    expect(queueShards(layout, 'events').map(({ shard, label, name }) => ({ shard, label, name }))).toEqual([
      { shard: 0, label: 'events', name: 'events' },
      { shard: 1, label: 'events-1', name: 'events-1' },
      { shard: 2, label: 'events-2', name: 'events-2' },
      { shard: 3, label: 'events-3', name: 'events-3' },
    ]);
    expect([queueShards(layout, 'retl').length, queueShards(layout, 'audiencelist').length, queueShards(layout, 'replay').length]).toEqual([1, 1, 1]);
  });

  it("gives every queue a hash tag of its own under Cluster: a queue's keys share a slot, shards spread", () => {
    const layout = queueLayout('redis-cluster://127.0.0.1:7000', 'evt', 4);
    expect(layout.cluster).toBe(true);
    const events = queueShards(layout, 'events');
    expect(events.map((shard) => queueKey(layout, shard, 'wait'))).toEqual([
      'evt:{events}:wait',
      'evt:{events-1}:wait',
      'evt:{events-2}:wait',
      'evt:{events-3}:wait',
    ]);
    for (const shard of allQueueShards(layout)) {
      expect(new Set(['wait', 'active', 'id', 'meta', 'marker'].map((suffix) => keySlot(queueKey(layout, shard, suffix)))).size).toBe(1);
    }
    expect(new Set(events.map((shard) => keySlot(queueKey(layout, shard, 'wait')))).size).toBe(4);
  });

  it('computes the slots Redis computes (CRC16 modulo 16384, of the hash tag when there is one)', () => {
    expect([keySlot('foo'), keySlot('somekey'), keySlot('{foo}.bar'), keySlot('{}foo'), keySlot('{user1000}.following')]).toEqual([
      12182,
      11058,
      12182,
      keySlot('{}foo'),
      keySlot('user1000'),
    ]);
    expect(keySlot('{}foo')).not.toBe(keySlot(''));
  });
});
