import { Injectable, Logger } from '@nestjs/common';

/** Upper bounds of the latency histograms, in seconds. */
const BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** For waits of about a millisecond (an audit commit, a GC pause): finer at the low end. */
export const FINE_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** A Prometheus histogram: cumulative counts rendered at scrape time, one array increment per observation. */
export class Histogram {
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(private readonly buckets: readonly number[] = BUCKETS) {
    this.counts = new Float64Array(buckets.length);
  }

  observe(seconds: number): void {
    const buckets = this.buckets;
    let i = 0;
    while (i < buckets.length && seconds > buckets[i]) i++;
    if (i < buckets.length) this.counts[i]++;
    this.sum += seconds;
    this.count++;
  }

  render(name: string, labels: string): string[] {
    const lines: string[] = [];
    let cumulative = 0;
    const sep = labels ? ',' : '';
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += this.counts[i];
      lines.push(`${name}_bucket{${labels}${sep}le="${this.buckets[i]}"} ${cumulative}`);
    }
    lines.push(`${name}_bucket{${labels}${sep}le="+Inf"} ${this.count}`);
    const suffix = labels ? `{${labels}}` : '';
    lines.push(`${name}_sum${suffix} ${this.sum}`, `${name}_count${suffix} ${this.count}`);
    return lines;
  }
}

/** Lines of gauges read at scrape time (breaker state, audit backlog...); a failing collector is left out. */
export type MetricsCollector = () => Promise<string[]> | string[];

const escape = (value: string) => value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));

/**
 * GET /metrics (DESIGN §6), Prometheus text: request counts and latency by route template and status class,
 * and the histograms (upstream latency, audit wait, GC) and gauges other modules register. Labels are route
 * templates, never URLs: no personal data and a bounded number of series. Recording is two map lookups and two array increments per request.
 */
@Injectable()
export class Metrics {
  private readonly logger = new Logger(Metrics.name);
  /** Per route template: its escaped label, its latency histogram, and per method a count per status class. */
  private readonly routes = new Map<string, { label: string; duration: Histogram; counts: Map<string, Float64Array> }>();
  private readonly histograms: { name: string; help: string; labels: string; histogram: Histogram }[] = [];
  private readonly collectors: MetricsCollector[] = [];

  recordRequest(route: string, method: string, status: number, seconds: number): void {
    let entry = this.routes.get(route);
    if (!entry) this.routes.set(route, (entry = { label: `route="${escape(route)}"`, duration: new Histogram(), counts: new Map() }));
    let counts = entry.counts.get(method);
    if (!counts) entry.counts.set(method, (counts = new Float64Array(6)));
    counts[Math.min(5, Math.max(0, Math.floor(status / 100)))]++;
    entry.duration.observe(seconds);
  }

  /**
   * A histogram rendered under `name` (with fixed `labels`, e.g. `kind="major"`, when several share the name); its
   * owner observes into it.
   */
  histogram(name: string, help: string, buckets: readonly number[] = BUCKETS, labels = ''): Histogram {
    const histogram = new Histogram(buckets);
    this.histograms.push({ name, help, labels, histogram });
    return histogram;
  }

  register(collector: MetricsCollector): void {
    this.collectors.push(collector);
  }

  async render(): Promise<string> {
    const lines = [
      '# HELP gateway_http_requests_total HTTP requests answered, by route template, method and status class.',
      '# TYPE gateway_http_requests_total counter',
      ...[...this.routes.values()].flatMap(({ label, counts }) => [...counts].flatMap(([method, byClass]) =>
        [...byClass].flatMap((count, statusClass) => (count === 0 ? [] : [
          `gateway_http_requests_total{${label},method="${escape(method)}",status_class="${statusClass}xx"} ${count}`])))),
      '# HELP gateway_http_request_duration_seconds Time to answer, by route template.',
      '# TYPE gateway_http_request_duration_seconds histogram',
      ...[...this.routes.values()].flatMap(({ label, duration }) => duration.render('gateway_http_request_duration_seconds', label)),
      ...this.histograms.flatMap(({ name, help, labels, histogram }, i) => [
        ...(this.histograms.findIndex((h) => h.name === name) === i ? [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`] : []),
        ...histogram.render(name, labels)]),
    ];
    for (const collector of this.collectors) {
      try {
        lines.push(...await collector());
      } catch (error) {
        this.logger.warn(`a metrics collector failed: ${(error as { code?: string }).code ?? (error as Error).name}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }
}
