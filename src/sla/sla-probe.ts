import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { PROBE_AGENT, PROBE_RECIPIENT, ProbeClient } from './probe-client';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { Counter, Metrics } from '../common/metrics';
import { SlaRecorder } from './sla-recorder';

const UPSTREAM_CODES = new Set(['upstream_error', 'upstream_timeout', 'upstream_unavailable']);

/**
 * The synthetic probe of DESIGN §6: every SLA_PROBE_INTERVAL_SECONDS, each instance looks up, through its own HTTP
 * listener and the real lookup route (token, validation, upstream, audit entry of kind `probe`), a NIR the
 * upstream does not know (SLA_PROBE_NIR), so that no real person's rights are ever fetched. 200 or 404
 * person_not_found is a success; any other answer, or none in time, a failure.
 */
@Injectable()
export class SlaProbe implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private running?: Promise<unknown>;
  private readonly probes: Counter<'result'>;
  /** The last probe's result (undefined before the first): /metrics's gateway_sla_probe_success. */
  lastSucceeded?: boolean;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly client: ProbeClient,
    private readonly recorder: SlaRecorder,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    metrics: Metrics,
  ) {
    this.probes = metrics.counter('gateway_sla_probes_total', "This instance's availability probes, by result (success, failure).", ['result']);
    metrics.gauge('gateway_sla_probe_success', "1 when this instance's last availability probe succeeded, 0 when it failed.",
      () => (this.lastSucceeded === undefined ? undefined : Number(this.lastSucceeded)));
  }

  onApplicationBootstrap(): void {
    const seconds = this.config.sla.probeIntervalSeconds;
    if (seconds === 0 || !this.adapterHost.httpAdapter) return;
    this.timer = setInterval(() => {
      this.running ??= this.probe().finally(() => (this.running = undefined));
    }, seconds * 1000);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One probe; its result goes to this minute's counters. Nothing when the listener is not up yet (or any more). */
  async probe(): Promise<{ ok: boolean; status?: number; code?: string } | undefined> {
    const url = this.lookupUrl();
    if (!url || this.stopped) return undefined;
    const at = this.clock.now();
    let result: { ok: boolean; status?: number; code?: string };
    try {
      const answer = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: this.client.authorization(), 'x-request-id': `probe-${at.getTime()}` },
        body: JSON.stringify({ nir: this.config.sla.probeNir, recipient: PROBE_RECIPIENT, agent: PROBE_AGENT,
          object: 'sonde de disponibilité', context: 'SLA' }),
        signal: AbortSignal.timeout(this.config.upstream.timeoutMs + 3000),
      });
      const body = (await answer.json().catch(() => ({}))) as { code?: string };
      result = { ok: answer.status === 200 || (answer.status === 404 && body.code === 'person_not_found'), status: answer.status, code: body.code };
    } catch {
      result = { ok: false };
    }
    this.recorder.recordProbe(at, result.ok, !result.ok && UPSTREAM_CODES.has(result.code ?? ''));
    this.lastSucceeded = result.ok;
    this.probes.inc({ result: result.ok ? 'success' : 'failure' });
    return result;
  }

  private lookupUrl(): string | undefined {
    const address = this.adapterHost.httpAdapter?.getHttpServer()?.address() as AddressInfo | string | null | undefined;
    if (!address || typeof address === 'string') return undefined;
    const host = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '[::1]'
      : address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}/v1/droits/recherche`;
  }
}
