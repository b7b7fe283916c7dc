import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { OutageLog } from '../common/logging/outage-log';
import { Counter, Metrics } from '../common/metrics';
import { RateDecision, WindowRateLimiter } from '../common/rate-limiter';

const WINDOW_MS = 1000;
/** A Redis that does not answer within this long is treated as down for that request (the lookup does not wait on it). */
const REDIS_TIMEOUT_MS = 100;

/**
 * One fixed window per partner and second, counted atomically in Redis: INCR, and the key's expiry set by the first
 * request of the window, in one script so that no instance can see a count without an expiry.
 */
const TAKE_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count`;

type SharedRedis = Redis & { takeQuota(key: string, expiryMs: number): Promise<number> };

/**
 * A partner's lookups per second (RATE_LIMIT_POLICY). `local`: each instance counts its own (one instance). `redis`:
 * every instance counts in one Redis, so the limit holds across them; if Redis is unreachable or slow, each instance
 * falls back to its own count of the limit divided by RATE_LIMIT_INSTANCES, says so in /metrics
 * (gateway_rate_limit_shared 0, gateway_rate_limit_fallback_total) and in the logs, and never fails a lookup for it.
 */
@Injectable()
export class PartnerRateLimit implements OnModuleDestroy {
  private readonly logger = new Logger(PartnerRateLimit.name);
  private readonly outage = new OutageLog(this.logger, 'shared rate limit (Redis): falling back to each instance\'s share;');
  private readonly local = new WindowRateLimiter(WINDOW_MS);
  private readonly redis?: SharedRedis;
  private readonly fallbacks?: Counter;
  private readonly share: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig, metrics: Metrics) {
    this.share = config.rateLimit.instances;
    if (config.rateLimit.policy !== 'redis') return;
    this.redis = new Redis(config.rateLimit.redisUrl!, {
      // Commands fail at once while disconnected instead of queueing behind a reconnection: the lookup falls back.
      enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: REDIS_TIMEOUT_MS, connectTimeout: 2000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000), keyPrefix: 'api-droits-cnam:rate:',
    }) as SharedRedis;
    this.redis.defineCommand('takeQuota', { numberOfKeys: 1, lua: TAKE_SCRIPT });
    // Connection errors are the outage log's to report, once; ioredis would otherwise print each reconnection attempt.
    this.redis.on('error', (error) => this.outage.failed(error));
    this.fallbacks = metrics.counter('gateway_rate_limit_fallback_total',
      'Lookups whose rate limit was counted locally (a share of the limit) because Redis could not be reached.');
    metrics.gauge('gateway_rate_limit_shared', '1 while partners\' rate limits are counted in Redis, 0 while each instance falls back to its share.',
      () => (this.redis!.status === 'ready' ? 1 : 0));
  }

  async onModuleDestroy(): Promise<void> {
    if (this.redis) await this.redis.quit().catch(() => this.redis!.disconnect());
  }

  /** Counts one lookup of a partner against its limit per second. */
  take(partnerId: string, limit: number, nowMs: number): RateDecision | Promise<RateDecision> {
    if (!this.redis) return this.local.take(partnerId, limit, nowMs);
    if (this.redis.status !== 'ready') return this.fallBack(partnerId, limit, nowMs, undefined);
    const window = Math.floor(nowMs / WINDOW_MS);
    return this.redis.takeQuota(`${partnerId}:${window}`, WINDOW_MS * 2).then((count) => {
      this.outage.succeeded();
      return { allowed: count <= limit, limit, remaining: Math.max(0, limit - count), resetMs: (window + 1) * WINDOW_MS - nowMs };
    }, (error: unknown) => this.fallBack(partnerId, limit, nowMs, error));
  }

  private fallBack(partnerId: string, limit: number, nowMs: number, error: unknown): RateDecision {
    if (error) this.outage.failed(error);
    this.fallbacks!.inc();
    const decision = this.local.take(partnerId, Math.max(1, Math.floor(limit / this.share)), nowMs);
    // The partner's contract is the whole limit: the headers say so, while this instance enforces its share.
    return { ...decision, limit };
  }
}
