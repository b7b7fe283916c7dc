import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { RateLimited, Unauthenticated } from '../common/errors/domain-errors';
import { FailedAttempts } from '../common/rate-limiter';
import { OperatorTotp } from '../partners/operator-totp';
import { OperatorsService } from '../partners/operators.service';

/**
 * An operator's login, for the API (POST /admin/api/session) and the console's form alike: password, second factor
 * when enrolled (DESIGN §4); failed attempts are limited per account and address, and per address, so that a third
 * party cannot lock an operator out (a wrong code counts like a wrong password).
 */
@Injectable()
export class OperatorLogin {
  private readonly failures: FailedAttempts;

  constructor(private readonly operators: OperatorsService, private readonly totp: OperatorTotp, private readonly clock: Clock,
    @Inject(APP_CONFIG) config: AppConfig) {
    this.failures = new FailedAttempts(config.limits.loginFailuresPerMinute, config.limits.loginFailuresPerAddressPerMinute);
  }

  /** Password, then the TOTP code (or a recovery code) when the operator enrolled one, then a session. */
  async login(email: string, password: string, address: string, secondFactor?: string) {
    const account = email.toLowerCase();
    const nowMs = this.clock.now().getTime();
    const wait = this.failures.retryAfterMs(account, address, nowMs);
    if (wait > 0) throw new RateLimited(wait / 1000, 'Too many failed logins from this address; retry later.');
    try {
      const operator = await this.operators.checkPassword(email, password);
      if (operator.second_factor) await this.totp.verifyLogin(operator, secondFactor);
      const session = await this.operators.openSession(operator);
      return { ...session, maxAgeSeconds: Math.floor((session.expires_at.getTime() - this.clock.now().getTime()) / 1000) };
    } catch (error) {
      // A missing code after the right password is a step of the login, not a failed guess.
      if (error instanceof Unauthenticated && error.code !== 'totp_required') this.failures.failed(account, address, nowMs);
      throw error;
    }
  }
}
