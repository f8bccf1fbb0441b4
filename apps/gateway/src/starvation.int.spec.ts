import { connect, type Socket } from 'node:net';
import { basicAuth, createSource, waitFor } from '@evt/testing';
import type { Source } from '@evt/db';
import { send, startStack, type Stack } from './test-support/harness';

// The bound on a normal request once the hostile uploads are gone. A starved gateway never
// answers at all, so this is about "at once" versus "never", not about speed.
const ANSWERED_WITHIN_MS = 1000;
const BUDGET = 64 * 1024;

/** An upload without credentials that announces `length` bytes, sends `sent` of them and stalls. */
interface Upload {
  socket: Socket;
  /** What the gateway wrote back so far. */
  received(): string;
  closed: Promise<void>;
}

async function stalledUpload(port: number, path: string, length: number, sent = 0): Promise<Upload> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString()));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${'x'.repeat(sent)}`);
  return { socket, received: () => received, closed };
}

/** Waits until the gateway's body budget is in the state the test forces (polled: socket events have their own schedule). */
function budgetReaches(stack: Stack, used: number, queued: number): Promise<true> {
  const budget = stack.gateway.bodyBudget;
  return waitFor(
    async () => (budget.used === used && budget.queued === queued ? true : undefined),
    10_000,
    `budget used ${used}, queued ${queued} (is ${budget.used}, ${budget.queued})`,
  );
}

function track(stack: Stack, source: Source, messageId: string) {
  return send(stack.url, {
    path: '/v1/track',
    method: 'POST',
    headers: { Authorization: basicAuth(source.writeKey) },
    body: JSON.stringify({ userId: 'u', event: 'E', messageId }),
  });
}

async function trackAnsweredAtOnce(stack: Stack, source: Source, messageId: string): Promise<void> {
  const started = Date.now();
  const answer = await track(stack, source, messageId);
  expect([answer.status, answer.body]).toEqual([200, 'OK']);
  expect(Date.now() - started).toBeLessThan(ANSWERED_WITHIN_MS);
  expect(await stack.rows('SELECT message_id FROM events WHERE message_id = $1', [messageId], 1)).toEqual([{ message_id: messageId }]);
}

describe('no client can starve the others of the body budget', () => {
  let stack: Stack;
  let source: Source;

  beforeAll(async () => {
    // A small budget, so that a few stalled uploads fill it; bodies up to twice the budget allowed,
    // so that one announced body is larger than the whole budget.
    stack = await startStack('starvation', {
      MAX_INFLIGHT_BODY_BYTES: String(BUDGET),
      MAX_REQUEST_SIZE: String(2 * BUDGET),
      MAX_AUDIENCE_LIST_SIZE: String(4 * BUDGET),
    });
    source = await createSource(stack.env);
    await stack.gateway.sources.refresh();
  });
  afterAll(() => stack.stop());

  it('answers a normal request at once after stalled, oversized and waiting uploads without credentials are abandoned', async () => {
    const { port } = stack.gateway;
    // As reported: 17 batch uploads that announce a quarter of the budget each and stall.
    const uploads: Upload[] = [];
    for (let i = 0; i < 17; i++) uploads.push(await stalledUpload(port, '/v1/batch', BUDGET / 4));
    await budgetReaches(stack, BUDGET, 13);
    // Larger than the whole budget: it may only be read alone, and everybody behind it waits.
    uploads.push(await stalledUpload(port, '/v1/batch', BUDGET + 1000));
    await budgetReaches(stack, BUDGET, 14);
    uploads.push(await stalledUpload(port, '/internal/v1/audiencelist', 3 * BUDGET));
    await waitFor(
      async () => (stack.gateway.bodyBudget.queued === 15 || uploads[uploads.length - 1].received() !== '' ? true : undefined),
      10_000,
      'the audience list upload to wait or be answered',
    );
    // A well-behaved client queued behind them all.
    const behind = track(stack, source, 'starvation-behind');

    for (const upload of uploads) upload.socket.destroy();
    await trackAnsweredAtOnce(stack, source, 'starvation-after');
    expect(await behind).toMatchObject({ status: 200, body: 'OK' });
    await budgetReaches(stack, 0, 0);
    expect(await stack.rows('SELECT message_id FROM events WHERE message_id = $1', ['starvation-behind'], 1)).toEqual([{ message_id: 'starvation-behind' }]);
  });

  it('gives back what an upload reserved when it is abandoned while waiting, or after admission in the middle of its body', async () => {
    const { port } = stack.gateway;
    const admitted = await stalledUpload(port, '/v1/batch', BUDGET / 2, 1000);
    await budgetReaches(stack, BUDGET / 2, 0);
    const waiting = await stalledUpload(port, '/v1/batch', BUDGET);
    await budgetReaches(stack, BUDGET / 2, 1);

    waiting.socket.destroy();
    await budgetReaches(stack, BUDGET / 2, 0);
    admitted.socket.destroy();
    await budgetReaches(stack, 0, 0);
    await trackAnsweredAtOnce(stack, source, 'starvation-abandoned');
  });
});

describe('stalled uploads that are never closed', () => {
  let stack: Stack;
  let source: Source;

  beforeAll(async () => {
    stack = await startStack('starvation-stalled', {
      MAX_INFLIGHT_BODY_BYTES: String(BUDGET),
      MAX_REQUEST_SIZE: String(2 * BUDGET),
      HEADERS_TIMEOUT_MS: '1000',
      REQUEST_TIMEOUT_MS: '2000',
    });
    source = await createSource(stack.env);
    await stack.gateway.sources.refresh();
  });
  afterAll(() => stack.stop());

  it('are cut by REQUEST_TIMEOUT_MS with 408, admitted or waiting, and give back the budget', async () => {
    const { port } = stack.gateway;
    const admitted = await stalledUpload(port, '/v1/batch', BUDGET, 1000);
    await budgetReaches(stack, BUDGET, 0);
    const oversized = await stalledUpload(port, '/v1/batch', BUDGET + 1000);
    await budgetReaches(stack, BUDGET, 1);

    // The clients keep their connections open; the gateway closes them.
    await Promise.all([admitted.closed, oversized.closed]);
    expect([admitted.received().split('\r\n')[0], oversized.received().split('\r\n')[0]]).toEqual([
      'HTTP/1.1 408 Request Timeout',
      'HTTP/1.1 408 Request Timeout',
    ]);
    await budgetReaches(stack, 0, 0);
    await trackAnsweredAtOnce(stack, source, 'starvation-stalled');
  });
});
