import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { constants, IntervalHistogram, monitorEventLoopDelay, PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { FINE_BUCKETS, Histogram, Metrics } from './metrics';

const RESOLUTION_MS = 10;
const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/**
 * The process's own latency sources, for /metrics: how late the event loop ran its timers since the previous scrape
 * (a blocked loop delays every request in flight), and garbage-collection pauses by kind. Both are sampled by
 * Node itself (a native 10 ms timer, one callback per collection), nothing per request.
 */
@Injectable()
export class RuntimeMetrics implements OnModuleInit, OnModuleDestroy {
  private delay?: IntervalHistogram;
  private observer?: PerformanceObserver;

  constructor(private readonly metrics: Metrics) {}

  onModuleInit(): void {
    const delay = (this.delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS }));
    delay.enable();
    this.metrics.register(() => {
      // Node records the time between two runs of its timer, in nanoseconds: the delay is what exceeds the timer's
      // own interval. A histogram that has seen nothing yet reports huge percentiles.
      const seconds = (ns: number) => (delay.count === 0 ? 0 : Math.max(0, ns / 1e6 - RESOLUTION_MS) / 1000);
      const lines = [
        '# HELP nodejs_eventloop_delay_seconds How late the event loop ran a 10 ms timer, since the previous scrape.',
        '# TYPE nodejs_eventloop_delay_seconds gauge',
        `nodejs_eventloop_delay_seconds{quantile="0.5"} ${seconds(delay.percentile(50))}`,
        `nodejs_eventloop_delay_seconds{quantile="0.99"} ${seconds(delay.percentile(99))}`,
        `nodejs_eventloop_delay_seconds{quantile="1"} ${seconds(delay.max)}`,
      ];
      delay.reset();
      return lines;
    });
    const pauses = new Map<string, Histogram>();
    for (const kind of Object.values(GC_KINDS)) {
      pauses.set(kind, this.metrics.histogram('nodejs_gc_duration_seconds', 'Garbage-collection pauses, by kind.', FINE_BUCKETS, `kind="${kind}"`));
    }
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
        pauses.get(GC_KINDS[kind ?? -1])?.observe(entry.duration / 1000);
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  onModuleDestroy(): void {
    this.delay?.disable();
    this.observer?.disconnect();
  }
}
