import { Metrics } from './metrics';
import { RuntimeMetrics } from './runtime-metrics';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const gauge = (text: string, quantile: string) =>
  Number(new RegExp(`^nodejs_eventloop_delay_seconds\\{quantile="${quantile}"\\} (\\S+)$`, 'm').exec(text)?.[1]);
const count = (text: string, kind: string) =>
  Number(new RegExp(`^nodejs_gc_duration_seconds_count\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(text)?.[1]);

describe('RuntimeMetrics', () => {
  const metrics = new Metrics();
  const runtime = new RuntimeMetrics(metrics);
  beforeAll(() => runtime.onModuleInit());
  afterAll(() => runtime.onModuleDestroy());

  it('reports how long the event loop was blocked since the previous scrape', async () => {
    await metrics.render(); // starts a fresh window
    await sleep(30);
    const until = performance.now() + 80;
    while (performance.now() < until); // the loop is blocked for 80 ms
    await sleep(30);
    const blocked = await metrics.render();
    expect(gauge(blocked, '1')).toBeGreaterThanOrEqual(0.07);
    expect(gauge(blocked, '0.5')).toBeLessThan(0.008); // the timer's own 10 ms interval is not delay
    await sleep(50);
    expect(gauge(await metrics.render(), '1')).toBeLessThan(0.07); // the next window does not carry it
  });

  it('counts garbage-collection pauses by kind, with one HELP line for all kinds', async () => {
    const before = count(await metrics.render(), 'minor');
    let kept: { i: number }[] = [];
    for (let i = 0; i < 1_000_000; i++) { // short-lived garbage that escapes: scavenges
      kept.push({ i });
      if (kept.length === 1000) kept = [];
    }
    await sleep(20); // observers are told after the fact
    const text = await metrics.render();
    expect(kept).toHaveLength(0);
    expect(count(text, 'minor')).toBeGreaterThan(before);
    expect(text.match(/# HELP nodejs_gc_duration_seconds /g)).toHaveLength(1);
    expect(text).toMatch(/^nodejs_gc_duration_seconds_bucket\{kind="major",le="0.001"\} \d+$/m);
  });
});
