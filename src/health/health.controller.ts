import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AuditSealer } from '../audit/audit-sealer';
import { Public } from '../auth/access.decorators';
import { Database } from '../common/database/database';
import { ServiceUnavailable } from '../common/errors/domain-errors';
import { ApiProblems } from '../common/errors/api-problems';

/**
 * Liveness (the process answers) and readiness (it can reach PostgreSQL, and the audit chain there is the one it
 * sealed: a gateway that found it rewritten must not be sent traffic as if all were well).
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly db: Database, private readonly sealer: AuditSealer) {}

  @Get('live') @Public()
  live() {
    return { status: 'ok' };
  }

  @Get('ready') @Public() @ApiProblems('not_ready', 'audit_chain_broken')
  async ready() {
    if (!(await this.db.isReachable())) {
      throw new ServiceUnavailable('not_ready', 'The database is not reachable.');
    }
    const broken = this.sealer.chainBroken();
    if (broken) {
      throw new ServiceUnavailable('audit_chain_broken', `The audit chain was altered behind the gateway's back: ${broken.problem}. `
        + 'Nothing more is sealed or signed until it is resolved (docs/audit.md).', 60);
    }
    return { status: 'ok', database: 'ok' };
  }
}
