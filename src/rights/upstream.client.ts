import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import CircuitBreaker from 'opossum';
import { Dispatcher, Pool } from 'undici';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { Histogram, Metrics } from '../common/metrics';
import { Subject } from './lookup-request';
import { UpstreamError, UpstreamTimeout, UpstreamUnavailable } from './rights.errors';
import { MalformedUpstreamAnswer, parseUpstreamRecord, UpstreamRecord } from './upstream-record';

export type UpstreamAnswer = { found: true; record: UpstreamRecord; upstreamMs: number } | { found: false; upstreamMs: number };

export type BreakerState = 'closed' | 'open' | 'half_open';

const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * The only code that speaks the upstream's HTTP (DESIGN §7): a keep-alive connection pool, a timeout on
 * every call (undici's own coarse timers, none per request), the request id as X-Correlation-ID, and one
 * circuit breaker. "Unknown person" is a successful call; errors, timeouts and malformed answers are failures.
 */
@Injectable()
export class UpstreamClient implements OnModuleDestroy {
  private readonly logger = new Logger(UpstreamClient.name);
  private readonly pool: Pool;
  private readonly breaker: CircuitBreaker<[Subject, string, string], UpstreamAnswer>;
  private readonly path: string;
  private readonly latency: Histogram;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig, metrics: Metrics) {
    this.latency = metrics.histogram('gateway_upstream_request_duration_seconds', 'Time the upstream rights backend took to answer.');
    const upstream = new URL(config.upstream.url);
    this.path = `${upstream.pathname.replace(/\/$/, '')}/beneficiaires/recherche`;
    this.pool = new Pool(upstream.origin, {
      connections: config.upstream.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: config.upstream.timeoutMs,
      bodyTimeout: config.upstream.timeoutMs,
      connectTimeout: Math.min(config.upstream.timeoutMs, 5000),
    });
    this.breaker = new CircuitBreaker((subject: Subject, dateReference: string, requestId: string) =>
      this.call(subject, dateReference, requestId), {
      timeout: false,
      errorThresholdPercentage: config.breaker.errorPercentage,
      volumeThreshold: config.breaker.volumeThreshold,
      resetTimeout: config.breaker.resetMs,
      rollingCountTimeout: config.breaker.windowMs,
      rollingCountBuckets: 10,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
    });
    this.breaker.on('open', () => this.logger.warn('upstream circuit opened'));
    this.breaker.on('halfOpen', () => this.logger.log('upstream circuit half-open: trying one request'));
    this.breaker.on('close', () => this.logger.log('upstream circuit closed'));
    metrics.gauge('gateway_upstream_breaker_state', 'Circuit breaker towards the upstream: 0 closed, 1 half-open, 2 open.',
      () => ({ closed: 0, half_open: 1, open: 2 })[this.state()]);
  }

  async onModuleDestroy(): Promise<void> {
    this.breaker.shutdown();
    await this.pool.close();
  }

  state(): BreakerState {
    return this.breaker.opened ? 'open' : this.breaker.halfOpen ? 'half_open' : 'closed';
  }

  /** Looks a person up; throws UpstreamUnavailable (breaker open), UpstreamTimeout or UpstreamError. */
  async search(subject: Subject, dateReference: string, requestId: string): Promise<UpstreamAnswer> {
    try {
      return await this.breaker.fire(subject, dateReference, requestId);
    } catch (error) {
      if ((error as { code?: string }).code === 'EOPENBREAKER') {
        throw new UpstreamUnavailable(this.config.breaker.resetMs / 1000);
      }
      throw error;
    }
  }

  private async call(subject: Subject, dateReference: string, requestId: string): Promise<UpstreamAnswer> {
    const started = performance.now();
    let statusCode: number;
    let text: string;
    try {
      ({ statusCode, text } = await exchange(this.pool, {
        method: 'POST',
        path: this.path,
        headers: { 'content-type': 'application/json', accept: 'application/json', 'x-correlation-id': requestId },
        body: JSON.stringify({ ...subject, date_reference: dateReference }),
      }, this.config.upstream.timeoutMs));
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (code === 'upstream_deadline' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
        throw new UpstreamTimeout();
      }
      throw new UpstreamError(code || 'network');
    }
    const upstreamMs = performance.now() - started;
    this.latency.observe(upstreamMs / 1000);
    if (statusCode === 404 && isUnknownPerson(text)) return { found: false, upstreamMs };
    if (statusCode !== 200) throw new UpstreamError(`status ${statusCode}`);
    try {
      return { found: true, record: parseUpstreamRecord(JSON.parse(text)), upstreamMs };
    } catch (error) {
      throw new UpstreamError(error instanceof MalformedUpstreamAnswer ? `malformed at ${error.path}` : 'not JSON');
    }
  }
}

function isUnknownPerson(text: string): boolean {
  try {
    return (JSON.parse(text) as { code?: unknown }).code === 'inconnu';
  } catch {
    return false;
  }
}

/**
 * One exchange through undici's dispatch API: the answer's chunks are collected as they arrive, without the
 * Readable body and async iterator that `request()` builds for every call (a tenth of the upstream call's CPU).
 * An answer over MAX_ANSWER_BYTES aborts the exchange (`answer_too_large`), and its connection with it.
 * The whole exchange has `deadlineMs`, waiting for a free connection included (undici's own timeouts start once the
 * request is written): past it the caller gets `upstream_deadline` at once, and a request still queued is dropped
 * when its turn comes, before anything is sent, so a slow upstream never piles work up behind the pool.
 */
function exchange(pool: Pool, options: Dispatcher.DispatchOptions, deadlineMs: number): Promise<{ statusCode: number; text: string }> {
  return new Promise((resolve, reject) => {
    let statusCode = 0;
    let size = 0;
    const chunks: Buffer[] = [];
    let abort: ((error?: Error) => void) | undefined;
    let expired: Error | undefined;
    const deadline = setTimeout(() => {
      expired = Object.assign(new Error('upstream deadline'), { code: 'upstream_deadline' });
      reject(expired);
      abort?.(expired);
    }, deadlineMs);
    pool.dispatch(options, {
      onConnect: (abortExchange) => {
        if (expired) return abortExchange(expired);
        abort = abortExchange;
      },
      onHeaders: (status) => {
        statusCode = status;
        return true;
      },
      onData: (chunk) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          abort!(Object.assign(new Error('answer too large'), { code: 'answer_too_large' }));
          return false;
        }
        chunks.push(chunk);
        return true;
      },
      onComplete: () => {
        clearTimeout(deadline);
        resolve({ statusCode, text: (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8') });
      },
      onError: (error) => {
        clearTimeout(deadline);
        reject(error);
      },
    });
  });
}
