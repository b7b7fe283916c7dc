import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { PartnersService } from './partners.service';

const EVERY_MS = 60_000;

/** Applies due disengagements once a minute (row locks make it safe on several instances). */
@Injectable()
export class DisengagementScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DisengagementScheduler.name);
  private timer?: NodeJS.Timeout;

  constructor(private readonly partners: PartnersService) {}

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
    } catch (error) {
      this.logger.warn(`disengagement run failed: ${(error as Error).name}`);
    }
  }
}
