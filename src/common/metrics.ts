import { Injectable, Logger } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { OutageLog } from './logging/outage-log';

/** Upper bounds of the latency histograms, in seconds. */
const BUCKETS: number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** For waits of about a millisecond (an audit commit, a GC pause): finer at the low end. */
export const FINE_BUCKETS: number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export type { Counter, Gauge, Histogram };

/**
 * GET /metrics (DESIGN §6), on prom-client: the Node runtime's own series (collectDefaultMetrics: CPU, memory,
 * event-loop lag since the previous scrape, GC pauses by kind), request counts and latency by route template and
 * status class, and the histograms, counters and gauges other modules declare here. Labels are route templates,
 * status classes and other closed sets, never a URL, a partner or a person: no personal data, bounded series.
 */
@Injectable()
export class Metrics {
  private readonly logger = new Logger(Metrics.name);
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'method' | 'status_class'>;
  private readonly durations: Histogram<'route'>;
  private readonly rateLimited: Counter<'route'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10, gcDurationBuckets: FINE_BUCKETS });
    this.requests = this.counter('gateway_http_requests_total', 'HTTP requests answered, by route template, method and status class.',
      ['route', 'method', 'status_class']);
    this.durations = this.histogram('gateway_http_request_duration_seconds', 'Time to answer, by route template.', BUCKETS, ['route']);
    this.rateLimited = this.counter('gateway_rate_limit_rejections_total',
      'Requests refused with 429 (a partner over its quota, a client over its attempts), by route template.', ['route']);
  }

  recordRequest(route: string, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, status_class: STATUS_CLASSES[Math.min(5, Math.max(0, Math.floor(status / 100)))] });
    this.durations.observe({ route }, seconds);
    if (status === 429) this.rateLimited.inc({ route });
  }

  histogram<L extends string = never>(name: string, help: string, buckets: number[] = BUCKETS, labelNames: L[] = []): Histogram<L> {
    return new Histogram<L>({ name, help, buckets, labelNames, registers: [this.registry] });
  }

  counter<L extends string = never>(name: string, help: string, labelNames: L[] = []): Counter<L> {
    return new Counter<L>({ name, help, labelNames, registers: [this.registry] });
  }

  /**
   * A gauge read at scrape time. A reading that fails or answers undefined (the database out of reach, nothing
   * measured yet) leaves the series out of that scrape rather than failing the scrape or repeating a stale value;
   * failures are logged once per outage.
   */
  gauge(name: string, help: string, read: () => number | undefined | Promise<number | undefined>): Gauge {
    const outage = new OutageLog(this.logger, `metric ${name}`, 'scrapes');
    return new Gauge({
      name, help, registers: [this.registry],
      async collect() {
        // No sample at all (prom-client's reset() would leave a 0 behind): pinned version, checked by metrics.spec.ts.
        (this as unknown as { hashMap: object }).hashMap = {};
        try {
          const value = await read();
          if (value !== undefined) this.set(value);
          outage.succeeded();
        } catch (error) {
          outage.failed(error);
        }
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}

const STATUS_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];
