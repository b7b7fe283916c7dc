import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { RateLimited, Unauthenticated } from '../common/errors/domain-errors';
import { FailedAttempts } from '../common/rate-limiter';
import { OperatorsService } from '../partners/operators.service';

/**
 * An operator's login, for the API (POST /admin/api/session) and the console's form alike: failed attempts are
 * limited per account and address, and per address, so that a third party cannot lock an operator out.
 */
@Injectable()
export class OperatorLogin {
  private readonly failures: FailedAttempts;

  constructor(private readonly operators: OperatorsService, private readonly clock: Clock, @Inject(APP_CONFIG) config: AppConfig) {
    this.failures = new FailedAttempts(config.limits.loginFailuresPerMinute, config.limits.loginFailuresPerAddressPerMinute);
  }

  async login(email: string, password: string, address: string) {
    const account = email.toLowerCase();
    const nowMs = this.clock.now().getTime();
    const wait = this.failures.retryAfterMs(account, address, nowMs);
    if (wait > 0) throw new RateLimited(wait / 1000, 'Too many failed logins from this address; retry later.');
    try {
      const session = await this.operators.login(email, password);
      return { ...session, maxAgeSeconds: Math.floor((session.expires_at.getTime() - this.clock.now().getTime()) / 1000) };
    } catch (error) {
      if (error instanceof Unauthenticated) this.failures.failed(account, address, nowMs);
      throw error;
    }
  }
}
