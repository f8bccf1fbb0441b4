import { accountPoison, type SentPoison } from './poison-accounting';
import type { PoisonItem } from './poison-traffic';
import { createTestEnv, type TestEnv } from './test-env';

// Two hostile events with one repetitive id: the product keeps one row, and the accounting must
// neither call the other lost nor accept a hostile event of which no row with its id exists.
describe('poison accounting (real Postgres)', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv('poison-accounting');
  });
  afterAll(() => env.close());

  const run = 'acct1';
  const id = 'a'.repeat(1024);
  const item = (marker: string, key: string): PoisonItem => ({
    good: false,
    hostility: 'messageId of 1024 bytes',
    route: 'extract',
    marker,
    store: 'events',
    sourceId: 'src-1',
    workspaceId: 'ws-1',
    key,
    sent: (parsed) => parsed,
    refusesRequest: false,
  });
  const sent = (marker: string, key: string): SentPoison => {
    const event = { type: 'extract', messageId: key, properties: { poisonMarker: marker } };
    return {
      request: { route: 'extract', path: '/internal/v1/extract', headers: {}, body: JSON.stringify(event), items: [item(marker, key)] },
      status: 200,
      answer: 'OK',
    };
  };

  it('counts an event whose id another stored event took as deduplicated, and one with no row under its id as unaccounted', async () => {
    await env.db.query(
      `INSERT INTO events (workspace_id, source_id, message_id, type, received_at, payload)
       VALUES ('ws-1', 'src-1', $1, 'extract', now(), $2)`,
      [id, { type: 'extract', messageId: id, properties: { poisonMarker: `pmk_${run}_1` } }],
    );
    const account = await accountPoison(env.db, run, [sent(`pmk_${run}_1`, id), sent(`pmk_${run}_2`, id), sent(`pmk_${run}_3`, 'b'.repeat(1024))]);
    expect(account.hostile).toEqual({
      sent: 3,
      storedExactly: 1,
      deduplicated: 1,
      rejected: 0,
      refused: 0,
      unaccounted: [`extract pmk_${run}_3 (messageId of 1024 bytes): neither stored nor rejected`],
    });
  });
});
