import { createRegistry, GatewayMetrics, WorkerMetrics } from './metrics';

const samples = async (metrics: { registry: { metrics(): Promise<string> } }, prefix: string) =>
  (await metrics.registry.metrics()).split('\n').filter((line) => line.startsWith(prefix));

describe('GatewayMetrics', () => {
  it('counts rejections by reason, and past 200 distinct reasons counts new ones as other', async () => {
    const metrics = new GatewayMetrics(createRegistry('gateway'));
    metrics.rejected(['userId or anonymousId is required', 'userId or anonymousId is required']);
    for (let i = 0; i < 250; i++) metrics.rejected([`reason ${i}`]);
    const lines = await samples(metrics, 'evt_events_total');
    expect(lines).toHaveLength(201);
    expect(lines).toContain('evt_events_total{outcome="rejected",reason="userId or anonymousId is required",service="gateway"} 2');
    expect(lines).toContain('evt_events_total{outcome="rejected",reason="reason 198",service="gateway"} 1');
    expect(lines).toContain('evt_events_total{outcome="rejected",reason="other",service="gateway"} 51');
  });

  it('counts requests by route and status', async () => {
    const metrics = new GatewayMetrics(createRegistry('gateway'));
    for (const status of [200, 200, 503]) metrics.request('/v1/batch', status);
    expect(await samples(metrics, 'evt_http_requests_total')).toEqual([
      'evt_http_requests_total{route="/v1/batch",status="200",service="gateway"} 2',
      'evt_http_requests_total{route="/v1/batch",status="503",service="gateway"} 1',
    ]);
  });
  it('reports each dependency as up (1) or down (0), from the last check or from a check at scrape time', async () => {
    const checked = new GatewayMetrics(createRegistry('gateway'));
    checked.dependencyUp('redis', true);
    checked.dependencyUp('postgres', false);
    expect(await samples(checked, 'evt_dependency_up')).toEqual([
      'evt_dependency_up{dependency="redis",service="gateway"} 1',
      'evt_dependency_up{dependency="postgres",service="gateway"} 0',
    ]);
    let postgres = true;
    const scraped = new GatewayMetrics(createRegistry('gateway'), undefined, async () => ({ redis: true, postgres }));
    expect(await samples(scraped, 'evt_dependency_up{dependency="postgres"')).toEqual(['evt_dependency_up{dependency="postgres",service="gateway"} 1']);
    postgres = false;
    expect(await samples(scraped, 'evt_dependency_up{dependency="postgres"')).toEqual(['evt_dependency_up{dependency="postgres",service="gateway"} 0']);
  });

  it('reports the shared backlog as last read, keeps the last value while it cannot be read, and counts refusals', async () => {
    const metrics = new GatewayMetrics(createRegistry('gateway'));
    const backlog: { events: number | undefined; limit: number } = { events: 1200, limit: 5000 };
    metrics.watchBacklog(backlog);
    metrics.backlogFull();
    metrics.backlogFull();
    expect(await samples(metrics, 'evt_queue_backlog')).toEqual([
      'evt_queue_backlog_refusals_total{service="gateway"} 2',
      'evt_queue_backlog_events{service="gateway"} 1200',
      'evt_queue_backlog_limit_events{service="gateway"} 5000',
    ]);
    backlog.events = undefined;
    expect(await samples(metrics, 'evt_queue_backlog_events')).toEqual(['evt_queue_backlog_events{service="gateway"} 1200']);
    backlog.events = 0;
    expect(await samples(metrics, 'evt_queue_backlog_events')).toEqual(['evt_queue_backlog_events{service="gateway"} 0']);
  });
});

describe('WorkerMetrics', () => {
  it('counts what each write did, by outcome', async () => {
    const metrics = new WorkerMetrics(createRegistry('events-worker'));
    metrics.wrote('events', { stored: 5, duplicates: 2, rejected: 0 });
    metrics.wrote('events', { stored: 1, duplicates: 0, rejected: 1 });
    expect(await samples(metrics, 'evt_worker_items_total')).toEqual([
      'evt_worker_items_total{queue="events",outcome="stored",service="events-worker"} 6',
      'evt_worker_items_total{queue="events",outcome="duplicate",service="events-worker"} 2',
      'evt_worker_items_total{queue="events",outcome="rejected",service="events-worker"} 1',
    ]);
  });

  it('counts the results of the rETL and audience processors under their own outcomes', async () => {
    const metrics = new WorkerMetrics(createRegistry('internal-worker'));
    metrics.wrote('retl', { records: 3, rejected: 1 });
    metrics.wrote('audiencelist', { members: 4, rejected: 0 });
    expect(await samples(metrics, 'evt_worker_items_total')).toEqual([
      'evt_worker_items_total{queue="retl",outcome="rejected",service="internal-worker"} 1',
      'evt_worker_items_total{queue="retl",outcome="records",service="internal-worker"} 3',
      'evt_worker_items_total{queue="audiencelist",outcome="members",service="internal-worker"} 4',
    ]);
  });
});
