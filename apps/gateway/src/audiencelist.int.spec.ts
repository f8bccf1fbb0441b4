import { gzipSync } from 'node:zlib';
import { basicAuth, createSource } from '@evt/testing';
import type { Source } from '@evt/db';
import { AUDIENCE_REMOVE_INDEX_BASE } from '@evt/schemas';
import { send, startStack, type Stack } from './test-support/harness';

// Large audience lists: read as a stream into a temporary file, checked whole, enqueued in parts
// of 10,000 members under one sequence, written by the internal worker in statements of 5,000.
describe('POST /internal/v1/audiencelist, large lists', () => {
  let stack: Stack;
  let source: Source;

  beforeAll(async () => {
    stack = await startStack('audiencelist', { MAX_AUDIENCE_LIST_SIZE: '3MB', MAX_REQUEST_SIZE: '100KB' }, { internalWorker: true });
    source = await createSource(stack.env);
    await stack.gateway.sources.refresh();
  });
  afterAll(() => stack.stop());

  const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
    send(stack.url, {
      path: '/internal/v1/audiencelist',
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: basicAuth(source.writeKey), ...headers },
      body,
    });
  const member = (i: number) => ({ EMAIL: `member-${i}@example.com`, N: i });
  const members = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => member(from + k));
  /** The rows of `audienceId`, once it holds `count` members of which `absent` are removed. */
  const stored = (audienceId: string, count: number, absent = 0) =>
    stack.rows<{ email: string; n: number; present: boolean; sequence_index: number }>(
      "SELECT member->>'EMAIL' AS email, (member->>'N')::int AS n, present, sequence_index FROM audience_members WHERE source_id = $1 AND audience_id = $2 AND (SELECT (count(*), count(*) FILTER (WHERE NOT present)) FROM audience_members WHERE source_id = $1 AND audience_id = $2) = ($3::bigint, $4::bigint) ORDER BY 2",
      [source.id, audienceId, count, absent],
      count,
    );
  /** Rows of `audienceId` once a list sent after it (same queue, in order) is stored. */
  const storedBefore = async (audienceId: string) => {
    const marker = `marker-${audienceId}`;
    expect(await post(JSON.stringify({ properties: { audienceId: marker, listData: { add: [member(0)] } } }))).toMatchObject({ status: 200, body: 'OK' });
    await stored(marker, 1);
    return stack.env.db.query('SELECT 1 FROM audience_members WHERE source_id = $1 AND audience_id = $2', [source.id, audienceId]);
  };

  it('stores every member of a list split into several parts, removes after adds, with its fields after listData', async () => {
    // Removes first in the text, the list's id and messageId after the members: none of it changes the outcome.
    const text = `{"properties":{"listData":{"remove":${JSON.stringify(members(0, 5000))},"add":${JSON.stringify(members(0, 50_000))}}},"messageId":"big-1","context":{"externalId":[{"type":"LIST-big","identifierType":"EMAIL"}]}}`;
    expect(text.length).toBeGreaterThan(2 * 1024 * 1024);
    expect(await post(text)).toMatchObject({ status: 200, body: 'OK' });
    const rows = await stored('LIST-big', 50_000, 5000);
    expect(rows.map((row) => [row.email, row.n, row.present])).toEqual(members(0, 50_000).map((m) => [m.EMAIL, m.N, m.N >= 5000]));
    // Each member kept its place in the request across the parts: adds 0…49,999, removes after every add.
    expect(rows.map((row) => row.sequence_index)).toEqual(rows.map((row) => (row.n < 5000 ? AUDIENCE_REMOVE_INDEX_BASE + row.n : row.n)));
  });

  it('reads a gzip body, inflated within the limit', async () => {
    const body = gzipSync(JSON.stringify({ properties: { audienceId: 'gzip-list', listData: { add: members(0, 25_000) } } }));
    expect(await post(body, { 'Content-Encoding': 'gzip' })).toMatchObject({ status: 200, body: 'OK' });
    expect((await stored('gzip-list', 25_000)).every((row, i) => row.n === i && row.present)).toBe(true);
  });

  it('answers 400 Invalid JSON for a body labelled gzip that is not, and keeps answering', async () => {
    expect(await post('{"properties":{}}', { 'Content-Encoding': 'gzip' })).toMatchObject({ status: 400, body: 'Invalid JSON' });
    const body = gzipSync(JSON.stringify({ properties: { audienceId: 'after-corrupt', listData: { add: members(0, 3) } } }));
    expect(await post(body, { 'Content-Encoding': 'gzip' })).toMatchObject({ status: 200, body: 'OK' });
    expect((await stored('after-corrupt', 3)).map((row) => row.n)).toEqual([0, 1, 2]);
  });

  it('answers 413 above MAX_AUDIENCE_LIST_SIZE: from Content-Length, or counted while inflating', async () => {
    const over = JSON.stringify({ properties: { audienceId: 'too-big', listData: { add: members(0, 120_000) } } });
    expect(over.length).toBeGreaterThan(3 * 1024 * 1024);
    expect(await post(over)).toMatchObject({ status: 413, body: 'Request size too large' });
    const bomb = gzipSync(over);
    expect(bomb.length).toBeLessThan(3 * 1024 * 1024);
    expect(await post(bomb, { 'Content-Encoding': 'gzip' })).toMatchObject({ status: 413, body: 'Request size too large' });
    expect(await storedBefore('too-big')).toEqual([]);
  });

  it('answers 400 for a list malformed after its first parts, and applies none of it', async () => {
    const head = `{"properties":{"audienceId":"malformed","listData":{"add":${JSON.stringify(members(0, 30_000)).slice(0, -1)}`;
    expect(await post(`${head},{"EMAIL":"x"]}}}`)).toMatchObject({ status: 400, body: 'Invalid JSON' });
    expect(await post(`${head},"not a member"]}}}`)).toMatchObject({ status: 400, body: 'Invalid request: properties.listData.add.30000 must be an object' });
    expect(await post(`${head},{"EMAIL":"nul\\u0000"}]}}}`)).toMatchObject({
      status: 400,
      body: 'Invalid request: properties.listData.add.30000.EMAIL contains NUL (U+0000), which Postgres cannot store',
    });
    expect(await post(`${head}]},"audienceId":7}}`)).toMatchObject({ status: 400, body: 'Invalid request: properties.audienceId must be a string' });
    expect(await storedBefore('malformed')).toEqual([]);
  });

  it('refuses an audience id that cannot be a key, wherever it comes from', async () => {
    const list = { properties: { listData: { add: [member(1)] } }, context: { externalId: [{ type: 'x'.repeat(1025) }] } };
    expect(await post(JSON.stringify(list))).toMatchObject({ status: 400, body: 'Invalid request: context.externalId.0.type is longer than 1024 bytes' });
  });
});
