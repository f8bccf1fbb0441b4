import { randomUUID } from 'node:crypto';
import http from 'node:http';

export interface DriveResult {
  /** Every messageId the gateway answered 200 for. */
  acknowledged: string[];
  /** Answers other than 200, by status (0: no answer, the connection failed). */
  refusals: Record<number, number>;
  /** Batches given up on after `giveUpSeconds` of retries (a loss on the client's side, not ours). */
  abandoned: number;
}

/**
 * Sends batches with unique messageIds as an SDK does: a batch answered 5xx or 429, or not
 * answered at all, is sent again (same messageIds) until it gets 200; other 4xx are not retried.
 */
export async function drive(options: { url: () => string; writeKey: string; connections: number; seconds: number; batchSize: number; giveUpSeconds?: number }): Promise<DriveResult> {
  const authorization = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  const acknowledged: string[] = [];
  const refusals: Record<number, number> = {};
  let abandoned = 0;
  const deadline = Date.now() + options.seconds * 1000;

  const post = (body: string) =>
    new Promise<number>((resolve) => {
      const request = http.request(`${options.url()}/v1/batch`, { method: 'POST', agent: false, headers: { authorization, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: 5000 }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      });
      request.on('timeout', () => request.destroy());
      request.on('error', () => resolve(0));
      request.end(body);
    });

  const loop = async () => {
    while (Date.now() < deadline) {
      const ids = Array.from({ length: options.batchSize }, () => randomUUID());
      const body = JSON.stringify({ batch: ids.map((messageId) => ({ type: 'track', event: 'Fault Test', userId: 'u-fault', messageId, properties: { n: 1 } })), sentAt: new Date().toISOString() });
      const giveUp = Date.now() + (options.giveUpSeconds ?? 60) * 1000;
      for (;;) {
        const status = await post(body);
        if (status === 200) {
          for (const id of ids) acknowledged.push(id);
          break;
        }
        refusals[status] = (refusals[status] ?? 0) + 1;
        if ((status >= 400 && status < 500 && status !== 429) || Date.now() > giveUp) {
          abandoned++;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, loop));
  return { acknowledged, refusals, abandoned };
}
