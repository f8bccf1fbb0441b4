import http from 'node:http';
import { basicAuth, peakRss } from '@evt/testing';
import type { BenchOptions, Row } from './types';
import { startGateway, type BenchStack } from './stack';

const AUDIENCE_ID = 'bench-audience-list';
const MEGABYTE = 1024 * 1024;

/** An audience list of at most `bytes` bytes of JSON, in pieces of about 1 MB: `{"EMAIL":"member-0000001@example.com"}` each. */
export function audienceListBody(bytes: number): { pieces: Buffer[]; length: number; members: number } {
  const head = `{"messageId":"${AUDIENCE_ID}","properties":{"audienceId":"${AUDIENCE_ID}","listData":{"add":[`;
  const tail = ']}}}';
  const pieces: Buffer[] = [Buffer.from(head)];
  let length = head.length + tail.length;
  let members = 0;
  let piece: string[] = [];
  let pieceLength = 0;
  for (;;) {
    const member = `${members === 0 ? '' : ','}{"EMAIL":"member-${String(members).padStart(7, '0')}@example.com"}`;
    if (length + member.length > bytes) break;
    piece.push(member);
    pieceLength += member.length;
    length += member.length;
    members++;
    if (pieceLength >= MEGABYTE) {
      pieces.push(Buffer.from(piece.join('')));
      piece = [];
      pieceLength = 0;
    }
  }
  pieces.push(Buffer.from(piece.join('') + tail));
  return { pieces, length, members };
}

/** POSTs `pieces` with their Content-Length, as a client streaming a file would; resolves with the answer. */
function post(url: string, writeKey: string, pieces: Buffer[], length: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${url}/internal/v1/audiencelist`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'Content-Length': String(length),
        Authorization: basicAuth(writeKey),
      },
    });
    request.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (text: string) => (body += text));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    const write = async () => {
      for (const piece of pieces) {
        if (!request.write(piece)) await new Promise((drained) => request.once('drain', drained));
      }
      request.end();
    };
    write().catch(reject);
  });
}

/**
 * (e) one audience list of MAX_AUDIENCE_LIST_SIZE (100 MB): the answer, the time until every
 * member is in audience_members, and the peak RSS of the gateway and of the internal worker.
 */
export async function scenarioE(stack: BenchStack, options: BenchOptions): Promise<Row[]> {
  const { pieces, length, members } = audienceListBody(options.audienceListBytes);
  const gateway = await startGateway(stack, { GATEWAY_PROCESSES: '1', MAX_AUDIENCE_LIST_SIZE: String(options.audienceListBytes) });
  const worker = stack.startInternalWorker({ env: { WORKER_QUEUES: 'audiencelist' } });
  const count = async () =>
    (
      await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audience_members WHERE source_id = $1 AND audience_id = $2', [
        stack.sourceId,
        AUDIENCE_ID,
      ])
    )[0].n;
  try {
    const started = Date.now();
    const answer = await post(gateway.url, stack.writeKey, pieces, length);
    const answeredSeconds = (Date.now() - started) / 1000;
    options.log(`  (e) ${(length / MEGABYTE).toFixed(1)} MB, ${members} members: answered ${answer.status} ${answer.body} in ${answeredSeconds.toFixed(1)} s`);
    let stored = await count();
    while (answer.status === 200 && stored < members && Date.now() - started < 1_800_000) {
      if (worker.status) throw new Error(`the internal worker died while storing the list\n${worker.report()}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      stored = await count();
    }
    const seconds = (Date.now() - started) / 1000;
    const gatewayRss = peakRss(gateway.app.pid);
    const workerRss = peakRss(worker.pid);
    options.log(
      `  (e) stored ${stored} of ${members} members in ${seconds.toFixed(1)} s; peak RSS gateway ${Math.round(gatewayRss / MEGABYTE)} MB, internal worker ${Math.round(workerRss / MEGABYTE)} MB`,
    );
    const oneGigabyte = 1024 * MEGABYTE;
    return [
      {
        scenario: 'e',
        target: `POST /internal/v1/audiencelist, one ${(length / MEGABYTE).toFixed(0)} MB list of ${members} members, until all stored`,
        eventsPerSecond: stored / seconds,
        peakRssBytes: gatewayRss,
        baseline: 'before: 100 MB answered 503; 60 MB answered 200, nothing stored after 102 s, peak RSS gateway 834 MB, worker 3 GB',
        baselineValue: 834 * MEGABYTE,
        ratio: gatewayRss / (834 * MEGABYTE),
        goal: 'answered 200, every member stored, both peak RSS < 1 GB',
        met: answer.status === 200 && stored === members && gatewayRss > 0 && gatewayRss < oneGigabyte && workerRss > 0 && workerRss < oneGigabyte,
        notes: `answered ${answer.status} in ${answeredSeconds.toFixed(1)} s; ${stored} of ${members} members stored ${seconds.toFixed(1)} s after the request began; peak RSS gateway ${Math.round(gatewayRss / MEGABYTE)} MB, internal worker ${Math.round(workerRss / MEGABYTE)} MB`,
      },
    ];
  } finally {
    await worker.stop();
    await gateway.app.stop();
  }
}
