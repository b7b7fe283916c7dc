import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { Database } from '../common/database/database';
import { AuditUnavailable } from '../common/errors/domain-errors';
import { OutageLog } from '../common/logging/outage-log';
import { PartnerStatus } from './partners.repository';
import { FreshRun } from '../common/fresh-run';

/** What the request path needs to know about a partner, held in memory. */
export interface PartnerAccess {
  id: string;
  name: string;
  status: PartnerStatus;
  scopes: ReadonlySet<string>;
  recipients: ReadonlySet<string>;
  rateLimitPerSecond: number;
}

/** How long the directory may serve from memory when the database cannot be read. */
const MAX_STALENESS_MS = 5000;
/** A partner id missing from memory triggers at most one reload per this period. */
const MISS_RELOAD_MS = 500;

/**
 * The partners' status, scopes and recipients, reloaded from PostgreSQL every PARTNER_CACHE_SECONDS (2 s by
 * default) so that a suspension or revocation made on any instance takes effect everywhere within 5 s,
 * without a database read per request.
 */
@Injectable()
export class PartnerDirectory implements OnModuleInit, OnModuleDestroy {
  private readonly outage = new OutageLog(new Logger(PartnerDirectory.name), 'partner directory reload');
  private partners = new Map<string, PartnerAccess>();
  private loadedAt = 0;
  private lastMissReload = 0;
  private readonly loader = new FreshRun(() => this.load().then(() => this.outage.succeeded(), (error) => {
    this.outage.failed(error);
    throw error;
  }));
  private timer?: NodeJS.Timeout;

  constructor(private readonly db: Database, @Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async onModuleInit(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => this.reload().catch(() => undefined), this.config.partnerCacheSeconds * 1000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async get(partnerId: string): Promise<PartnerAccess | undefined> {
    const now = Date.now();
    if (now - this.loadedAt > MAX_STALENESS_MS) await this.reloadOrFail();
    let partner = this.partners.get(partnerId);
    if (!partner && now - this.lastMissReload > MISS_RELOAD_MS) {
      this.lastMissReload = now;
      await this.reloadOrFail();
      partner = this.partners.get(partnerId);
    }
    return partner;
  }

  /**
   * Reloads now; called after a lifecycle change so that this instance applies it at once. A reload already under
   * way may have read before the change: the call then waits for the one after it.
   */
  reload(): Promise<void> {
    return this.loader.run();
  }

  private async reloadOrFail(): Promise<void> {
    try {
      await this.reload();
    } catch {
      if (Date.now() - this.loadedAt > MAX_STALENESS_MS) {
        // The database is out of reach: the partner's status cannot be checked, nor the access traced.
        throw new AuditUnavailable('The gateway cannot reach its database: the access can be neither checked nor traced, so no '
          + 'personal data is returned. This is not a decision on the person\'s rights: retry later.');
      }
    }
  }

  private async load(): Promise<void> {
    const rows = await this.db.rows<{ id: string; name: string; status: PartnerStatus; scopes: string[];
      recipients: string[]; rate_limit_per_second: number }>(
      'SELECT id, name, status, scopes, recipients, rate_limit_per_second FROM partners');
    const partners = new Map<string, PartnerAccess>();
    for (const row of rows) {
      partners.set(row.id, {
        id: row.id, name: row.name, status: row.status, scopes: new Set(row.scopes),
        recipients: new Set(row.recipients.map((r) => r.trim())), rateLimitPerSecond: row.rate_limit_per_second,
      });
    }
    this.partners = partners;
    this.loadedAt = Date.now();
  }
}
