import { basicAuth } from '@evt/testing';
import autocannon from 'autocannon';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { trackEvent } from './payloads';

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
}

/** Fixed body, N connections, T seconds: autocannon's own measurements. */
export async function hammer(options: {
  url: string;
  path: string;
  body: string;
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
  timeoutSeconds?: number;
}): Promise<LoadResult> {
  const result = await autocannon({
    url: `${options.url}${options.path}`,
    method: 'POST',
    connections: options.connections,
    duration: options.seconds,
    headers: { 'content-type': 'application/json', ...options.headers },
    body: options.body,
    timeout: options.timeoutSeconds ?? 10,
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

export interface SustainedResult extends LoadResult {
  /** Every messageId the gateway answered 200 for. */
  acknowledged: string[];
  events: number;
}

/**
 * Sustained load with a unique messageId in every event, keeping the ids the gateway acknowledged,
 * so that what landed can be checked one by one.
 */
export async function sustained(options: { url: string; writeKey: string; connections: number; seconds: number; batchSize: number }): Promise<SustainedResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const authorization = basicAuth(options.writeKey);
  const acknowledged: string[] = [];
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const deadline = Date.now() + options.seconds * 1000;
  const started = Date.now();

  const post = (body: string) =>
    new Promise<number>((resolve) => {
      const request = http.request(
        `${options.url}/v1/batch`,
        { method: 'POST', agent, headers: { authorization, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        },
      );
      request.on('error', () => resolve(0));
      request.end(body);
    });

  const loop = async () => {
    while (Date.now() < deadline) {
      const ids = Array.from({ length: options.batchSize }, () => randomUUID());
      const body = JSON.stringify({ batch: ids.map((id) => trackEvent(id)), sentAt: new Date().toISOString() });
      const sent = Date.now();
      const status = await post(body);
      latencies.push(Date.now() - sent);
      if (status === 200) for (const id of ids) acknowledged.push(id);
      else if (status === 0) errors++;
      else non2xx++;
    }
  };
  await Promise.all(Array.from({ length: options.connections }, loop));
  agent.destroy();
  const elapsed = (Date.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    requestsPerSecond: latencies.length / elapsed,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    requests: latencies.length,
    non2xx,
    errors,
    acknowledged,
    events: acknowledged.length,
  };
}
