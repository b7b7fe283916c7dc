import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/access.decorators';
import { Database } from '../common/database/database';
import { ServiceUnavailable } from '../common/errors/domain-errors';

/** Liveness (the process answers) and readiness (it can reach PostgreSQL). */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly db: Database) {}

  @Get('live') @Public()
  live() {
    return { status: 'ok' };
  }

  @Get('ready') @Public()
  async ready() {
    if (!(await this.db.isReachable())) {
      throw new ServiceUnavailable('not_ready', 'The database is not reachable.');
    }
    return { status: 'ok', database: 'ok' };
  }
}
