import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { Conflict, NotFound } from '../common/errors/domain-errors';
import { parisMonthBounds, parisMonthOf, previousMonth } from './availability';
import { openDataCsv } from './open-data-table';
import { checkMonth } from './sla-reports';
import { SlaRepository } from './sla.repository';

/** A context is published by name only when this many partners used it in the month (docs/decisions.md). */
export const MIN_PARTNERS_PER_CONTEXT = 3;

export class OpenDataNotFound extends NotFound {
  override readonly code = 'open_data_not_found';
}

/**
 * The published usage statistics (DESIGN §6, GET /v1/open-data/usage.csv): a month's lookups by partner type and
 * context, computed once the month is over and stored as published, so that every download of a month is the
 * same file. No partner is named, no person is counted below 11.
 */
@Injectable()
export class OpenData {
  constructor(private readonly repository: SlaRepository, private readonly clock: Clock) {}

  /** The last month that is over in Paris: what the route serves when no month is asked for. */
  lastMonth(): string {
    return previousMonth(parisMonthOf(this.clock.now().getTime()));
  }

  async usageCsv(month: string): Promise<string> {
    checkMonth(month);
    const now = this.clock.now();
    const { start, end } = parisMonthBounds(month);
    if (now.getTime() < end) {
      throw new Conflict('month_not_over', `${month} is not over yet in Paris: its figures are published once it is.`);
    }
    const stored = await this.repository.openData(month);
    if (stored) return stored;
    const measuredFrom = await this.repository.measuredFrom();
    if (!measuredFrom || end <= measuredFrom.getTime()) throw new OpenDataNotFound(`The service was not running in ${month}.`);
    const groups = await this.repository.usageGroups(new Date(start), new Date(end), MIN_PARTNERS_PER_CONTEXT);
    return this.repository.publishOpenData(month, openDataCsv(month, groups), now);
  }
}
