import { Metrics } from './metrics';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sample = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('Metrics (prom-client)', () => {
  const metrics = new Metrics();

  it('counts requests by route template, method and status class, with latency, and 429s as rate-limit rejections', async () => {
    metrics.recordRequest('/v1/x', 'POST', 200, 0.01);
    metrics.recordRequest('/v1/x', 'POST', 204, 0.03);
    metrics.recordRequest('/v1/x', 'POST', 429, 0.001);
    metrics.recordRequest('unmatched', 'GET', 404, 0.001);
    const text = await metrics.render();
    expect(sample(text, 'gateway_http_requests_total{route="/v1/x",method="POST",status_class="2xx"}')).toBe(2);
    expect(sample(text, 'gateway_http_requests_total{route="unmatched",method="GET",status_class="4xx"}')).toBe(1);
    expect(sample(text, 'gateway_http_request_duration_seconds_bucket{le="0.025",route="/v1/x"}')).toBe(2);
    expect(sample(text, 'gateway_http_request_duration_seconds_count{route="/v1/x"}')).toBe(3);
    expect(sample(text, 'gateway_rate_limit_rejections_total{route="/v1/x"}')).toBe(1);
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('reads gauges at scrape time, and leaves out one whose reading fails or is unknown without failing the scrape', async () => {
    let value: number | undefined = 3;
    metrics.gauge('test_known', 'A gauge.', () => value);
    metrics.gauge('test_failing', 'A gauge whose source is down.', async () => { throw Object.assign(new Error('down'), { code: 'ECONNREFUSED' }); });
    const text = await metrics.render();
    expect(sample(text, 'test_known')).toBe(3);
    expect(text).toContain('# TYPE test_failing gauge');
    expect(text).not.toMatch(/^test_failing /m);
    value = undefined;
    expect(await metrics.render()).not.toMatch(/^test_known /m);
    value = 0;
    expect(sample(await metrics.render(), 'test_known')).toBe(0);
  });

  it("publishes the runtime's own series: event-loop lag since the previous scrape, GC pauses by kind, memory and CPU", async () => {
    await metrics.render(); // starts a fresh window
    await sleep(30);
    const until = performance.now() + 80;
    while (performance.now() < until); // the loop is blocked for 80 ms
    let kept: { i: number }[] = [];
    for (let i = 0; i < 1_000_000; i++) { // short-lived garbage that escapes: scavenges
      kept.push({ i });
      if (kept.length === 1000) kept = [];
    }
    await sleep(30);
    const text = await metrics.render();
    expect(kept).toHaveLength(0);
    expect(sample(text, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.07);
    expect(sample(text, 'nodejs_gc_duration_seconds_count{kind="minor"}')).toBeGreaterThan(0);
    expect(text.match(/# HELP nodejs_gc_duration_seconds /g)).toHaveLength(1);
    expect(text).toMatch(/^nodejs_gc_duration_seconds_bucket\{le="0.001",kind="minor"\} \d+$/m);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    await sleep(50);
    expect(sample(await metrics.render(), 'nodejs_eventloop_lag_max_seconds')).toBeLessThan(0.07); // the next window does not carry it
  });
});
