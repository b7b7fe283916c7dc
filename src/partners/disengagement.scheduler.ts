import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { CredentialsService } from './credentials.service';
import { PartnersService } from './partners.service';

const EVERY_MS = 60_000;

/**
 * Once a minute: applies due disengagements, reminds departures 3 days ahead, warns of client secrets expiring (row
 * locks and once-only records make each safe on several instances).
 */
@Injectable()
export class DisengagementScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DisengagementScheduler.name);
  private timer?: NodeJS.Timeout;

  constructor(private readonly partners: PartnersService, private readonly credentials: CredentialsService) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.run(), EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async run(): Promise<void> {
    try {
      await this.partners.applyDueDisengagements();
      await this.partners.remindDisengagements();
      await this.credentials.warnExpiringSecrets();
    } catch (error) {
      this.logger.warn(`disengagement run failed: ${(error as Error).name}`);
    }
  }
}
