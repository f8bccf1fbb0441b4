import http, { type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { ClientGoneError } from '@evt/errors';
import { readBody, readBodyWithin } from './body';
import { BodyBudget } from './body-budget';
import { nestedDeeperThan } from './json';

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Polls `condition` (socket events arrive on their own schedule); fails after 5 s. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('BodyBudget', () => {
  it('admits bodies while they fit, then in arrival order as others are released', async () => {
    const budget = new BodyBudget(100);
    const admitted: string[] = [];
    const first = await budget.acquire(60);
    const second = budget.acquire(60).then(() => admitted.push('second'));
    const third = budget.acquire(10).then(() => admitted.push('third'));
    await turn();
    // The third would fit, but waits its turn behind the second.
    expect(admitted).toEqual([]);
    first.release();
    await Promise.all([second, third]);
    expect(admitted).toEqual(['second', 'third']);
    expect(budget.used).toBe(70);
  });

  it('always admits a body alone, however large', async () => {
    const budget = new BodyBudget(100);
    const large = await budget.acquire(5000);
    let next = false;
    const waiting = budget.acquire(1).then(() => (next = true));
    await turn();
    expect(next).toBe(false);
    large.release();
    await waiting;
    expect(next).toBe(true);
  });

  it('drops a waiter whose client went away, never admitting it, and lets in those it held back', async () => {
    const budget = new BodyBudget(100);
    const held = await budget.acquire(60);
    const gone = new AbortController();
    // Larger than the whole budget: it would wait for the budget to be empty, and everyone behind it too.
    const oversized = budget.acquire(500, gone.signal);
    const small = budget.acquire(30);
    await turn();
    expect([budget.used, budget.queued]).toEqual([60, 2]);
    gone.abort();
    await expect(oversized).rejects.toBeInstanceOf(ClientGoneError);
    const admitted = await small;
    expect([budget.used, budget.queued]).toEqual([90, 0]);
    held.release();
    admitted.release();
    expect(budget.used).toBe(0);
  });

  it('refuses at once a client that has already gone, holding nothing', async () => {
    const budget = new BodyBudget(100);
    const gone = new AbortController();
    gone.abort();
    await expect(budget.acquire(10, gone.signal)).rejects.toBeInstanceOf(ClientGoneError);
    expect([budget.used, budget.queued]).toEqual([0, 0]);
  });

  it('gives back a reservation once, however often it is released, and ignores an abort after admission', async () => {
    const budget = new BodyBudget(100);
    const signal = new AbortController();
    const first = await budget.acquire(60, signal.signal);
    const second = budget.acquire(60);
    first.release();
    first.release();
    await second;
    signal.abort();
    // A second release of the first must not free the second's bytes.
    expect([budget.used, budget.queued]).toEqual([60, 0]);
  });
});

describe('readBodyWithin', () => {
  let server: http.Server;
  let budget: BodyBudget;
  const outcomes = new Map<string, string>();
  let port: number;

  beforeAll(async () => {
    budget = new BodyBudget(100);
    server = http.createServer((req: IncomingMessage, res) => {
      const name = String(req.headers['x-name']);
      // "late": read only once the client has gone, as a request admitted just after its client left is.
      const read = req.headers['x-late']
        ? new Promise((resolve) => req.once('close', resolve)).then(() => readBody(req, 1000))
        : readBodyWithin(req, 1000, budget);
      void read
        .then(
          (body) => outcomes.set(name, `read ${body.toString()}`),
          (error: Error) => outcomes.set(name, error.name),
        )
        .finally(() => res.end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  afterEach(() => outcomes.clear());

  /** Sends the headers of a POST announcing `length` bytes, then `body` (possibly less). */
  async function upload(name: string, length: number, body: string | Buffer = '', headers = ''): Promise<Socket> {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`POST / HTTP/1.1\r\nHost: x\r\nX-Name: ${name}\r\nContent-Length: ${length}\r\n${headers}\r\n`);
    socket.write(body);
    return socket;
  }

  it('gives back every byte when clients leave while waiting, mid-body, or before their read starts', async () => {
    const stalled = await upload('stalled', 80, 'x'.repeat(40));
    await until(() => budget.used === 80, 'the stalled upload to be admitted');
    const waiting = await upload('waiting', 50);
    const oversized = await upload('oversized', 900);
    await until(() => budget.queued === 2, 'two uploads to wait');
    const late = await upload('late', 10, '', 'X-Late: 1\r\n');

    waiting.destroy();
    await until(() => outcomes.get('waiting') === 'ClientGoneError', 'the waiting upload to be dropped');
    expect([budget.used, budget.queued]).toEqual([80, 1]);
    oversized.destroy();
    stalled.destroy();
    late.destroy();
    await until(() => outcomes.size === 4, 'every upload to settle');
    expect(Object.fromEntries(outcomes)).toEqual({
      stalled: 'ClientGoneError',
      waiting: 'ClientGoneError',
      oversized: 'ClientGoneError',
      late: 'ClientGoneError',
    });
    expect([budget.used, budget.queued]).toEqual([0, 0]);

    const complete = await upload('complete', 5, 'hello');
    await until(() => outcomes.has('complete'), 'the complete upload to be read');
    expect(outcomes.get('complete')).toBe('read hello');
    complete.destroy();
    expect(budget.used).toBe(0);
  });

  it('reads a complete gzip body whose request closes before the inflater ends', async () => {
    const gzipped = gzipSync('{"a":1}');
    const socket = await upload('gzip', gzipped.length, gzipped, 'Content-Encoding: gzip\r\n');
    await until(() => outcomes.has('gzip'), 'the gzip upload to be read');
    expect(outcomes.get('gzip')).toBe('read {"a":1}');
    socket.destroy();
    expect(budget.used).toBe(0);
  });
});

describe('nestedDeeperThan', () => {
  const bytes = (text: string) => Buffer.from(text);
  it('measures object and array nesting, skipping strings and escaped quotes', () => {
    expect(nestedDeeperThan(bytes(`${'['.repeat(5)}${']'.repeat(5)}`.padEnd(20)), 4)).toBe(true);
    expect(nestedDeeperThan(bytes(`${'['.repeat(4)}${']'.repeat(4)}`.padEnd(20)), 4)).toBe(false);
    expect(nestedDeeperThan(bytes(JSON.stringify({ a: '{{{{{{{{{{', b: 'x\\"[[[[[[[[' })), 2)).toBe(false);
    expect(nestedDeeperThan(bytes('[{"a":[{"b":[1]}]}, {"c":2}]'), 4)).toBe(true);
    expect(nestedDeeperThan(bytes('[{"a":[{"b":[1]}]}, {"c":2}]'), 5)).toBe(false);
  });
});
