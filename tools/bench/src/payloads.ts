import { randomUUID } from 'node:crypto';

/** One track event of about 600 bytes, as a browser or server SDK sends it. */
export function trackEvent(messageId?: string): Record<string, unknown> {
  return {
    type: 'track',
    event: 'Order Completed',
    userId: 'user-4f6b2c1e-9a7d',
    anonymousId: 'anon-7c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f',
    ...(messageId ? { messageId } : {}),
    originalTimestamp: '2026-11-30T10:00:00.000Z',
    sentAt: '2026-11-30T10:00:00.500Z',
    properties: { orderId: 'ord-1042', total: 129.9, currency: 'EUR', coupon: 'WINTER', products: [{ sku: 'sku-17', quantity: 2, price: 64.95 }] },
    context: {
      library: { name: 'analytics-node', version: '3.0.13' },
      ip: '203.0.113.42',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
      locale: 'en-GB',
    },
  };
}

/** A batch of `size` track events with fresh messageIds. */
export function batchBody(size: number, withMessageIds = true): { batch: Record<string, unknown>[]; sentAt: string } {
  return { batch: Array.from({ length: size }, () => trackEvent(withMessageIds ? randomUUID() : undefined)), sentAt: new Date().toISOString() };
}
