import type { QueuedEvent, RejectedEvent } from '@evt/schemas';
import type { RequestContext } from './enrich';
import { validateAndEnrich, type EventBatch } from './pipeline';

const source = { id: 'src', workspaceId: 'ws' };
const request: RequestContext = { receivedAt: '2026-01-02T03:04:05.000Z', receivedAtMs: Date.parse('2026-01-02T03:04:05.000Z'), requestIp: '203.0.113.9' };

function sort(batch: Partial<EventBatch> & { events: unknown[] }, maxEventSize = 1_000_000) {
  const accepted: QueuedEvent[] = [];
  const rejected: RejectedEvent[] = [];
  validateAndEnrich({ source, request, bytes: 100, ...batch }, maxEventSize, accepted, rejected);
  return { accepted, rejected };
}

describe('validateAndEnrich', () => {
  it('enriches the valid public events and sets the invalid ones aside with their reason', () => {
    const { accepted, rejected } = sort({
      events: [{ type: 'track', userId: 'u', event: 'E', messageId: 'm1' }, { type: 'track', event: 'E', messageId: 'm2' }, 'text'],
    });
    expect(accepted).toEqual([
      {
        sourceId: 'src',
        workspaceId: 'ws',
        event: expect.objectContaining({ messageId: 'm1', receivedAt: request.receivedAt, request_ip: '203.0.113.9', rudderId: expect.any(String) }),
      },
    ]);
    expect(rejected.map((r) => [r.messageId, r.reason])).toEqual([
      ['m2', 'userId or anonymousId is required'],
      [undefined, 'event must be an object'],
    ]);
  });

  it("forces the route's type and stores under storeAs, rejecting under the request's source", () => {
    const { accepted, rejected } = sort({
      events: [{ userId: 'u', traits: {} }, { traits: {} }],
      request: { ...request, type: 'identify' },
      storeAs: { id: 'original', workspaceId: 'ws' },
    });
    expect(accepted.map((a) => [a.sourceId, a.event.type])).toEqual([['original', 'identify']]);
    expect(rejected.map((r) => r.sourceId)).toEqual(['src']);
  });

  it('follows the rules of the kind of events: extract, webhook, pre-enriched', () => {
    expect(sort({ events: [{ event: 'Row' }], kind: 'extract', request: { ...request, type: 'extract' } }).accepted).toHaveLength(1);
    expect(
      sort({ events: [{ type: 'webhook', properties: { any: 'thing' } }], kind: 'webhook', request: { ...request, type: 'webhook' } }).accepted,
    ).toHaveLength(1);
    const payload = {
      type: 'track',
      event: 'Up',
      userId: 'u',
      messageId: 'pre-1',
      receivedAt: '2025-06-01T00:00:00.000Z',
      request_ip: '203.0.113.1',
      rudderId: 'r',
    };
    const enriched = sort({
      events: [
        { properties: {}, payload },
        { properties: {}, payload: { ...payload, messageId: 'pre-2', rudderId: undefined } },
      ],
      kind: 'enriched',
    });
    // Stored exactly as it came; a rejected item is named by its payload's messageId.
    expect(enriched.accepted.map((a) => a.event)).toEqual([payload]);
    expect(enriched.rejected.map((r) => r.messageId)).toEqual(['pre-2']);
  });

  it('measures events only when the body could hold one over the limit', () => {
    const event = { type: 'track', userId: 'u', event: 'E', properties: { pad: 'x'.repeat(200) } };
    expect(sort({ events: [{ ...event }], bytes: 50 }, 100).rejected).toEqual([]);
    expect(sort({ events: [{ ...event }], bytes: 500 }, 100).rejected.map((r) => [r.reason, r.eventSize, r.event])).toEqual([
      ['event is larger than 100 bytes', expect.any(Number), undefined],
    ]);
  });
});
