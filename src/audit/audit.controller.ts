import { Controller, Get, Header, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentOperator, CurrentPartner, OperatorAuth, OperatorPrincipal, PartnerAuth, PartnerPrincipal, Public } from '../auth/access.decorators';
import { Clock } from '../common/clock';
import { ApiProblems } from '../common/errors/api-problems';
import { whileClientWaits } from '../common/http/client-gone';
import { AccessesQuery, AuditQuery, ExportQuery, VerifyQuery } from './audit-query.dto';
import { AuditService } from './audit.service';
import { AuditorDesk, dateOf } from './auditor-desk';

/** Auditors' access to the trail (DESIGN §4). Each search, export and verification is itself traced. */
@ApiTags('audit')
@Controller('admin/api/audit')
@OperatorAuth('auditor')
export class AuditController {
  constructor(private readonly desk: AuditorDesk, private readonly clock: Clock) {}

  @Get()
  @ApiOperation({ summary: 'Search the sealed trail, newest first (cursor pagination)' })
  async search(@Query() query: AuditQuery, @CurrentOperator() principal: OperatorPrincipal) {
    const { subjectRef: _subjectRef, ...page } = await this.desk.search(query, principal.operator.id);
    return page;
  }

  @Get('export')
  @ApiOperation({ summary: 'Stream the trail (NDJSON or CSV) with its chain fields and covering checkpoints; '
    + 'the NDJSON ends with a line counting what it holds (a file cut short fails npm run cli -- audit:verify)' })
  async export(@Query() query: ExportQuery, @CurrentOperator() principal: OperatorPrincipal, @Res() reply: FastifyReply) {
    const format = query.format ?? 'ndjson';
    const stream = await this.desk.export({ ...query, format }, principal.operator.id);
    reply.header('content-type', format === 'ndjson' ? 'application/x-ndjson; charset=utf-8' : 'text/csv; charset=utf-8');
    reply.header('content-disposition', `attachment; filename="audit-${this.clock.now().toISOString().slice(0, 10)}.${format}"`);
    reply.header('cache-control', 'no-store');
    return reply.send(stream);
  }

  @Get('verify') @ApiProblems('rate_limited', 'instance_stopping')
  @ApiOperation({ summary: 'Recompute the chain and check the checkpoints: { ok, checked, first_bad_seq? }' })
  verify(@Query() query: VerifyQuery, @CurrentOperator() principal: OperatorPrincipal, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.desk.verify(query, principal.operator.id, whileClientWaits(reply));
  }
}

/** What partners and auditors outside DINSIC can hold: the latest signed checkpoint. */
@ApiTags('audit')
@Controller('v1/audit/checkpoints')
export class CheckpointsController {
  constructor(private readonly audit: AuditService) {}

  @Get('latest') @Public() @Header('cache-control', 'no-cache')
  @ApiOperation({ summary: 'The latest signed checkpoint { seq, hash, at, key_id, signature, public_key }' })
  latest() {
    return this.audit.latestCheckpoint();
  }
}

/** A partner's own accesses, never another's. */
@ApiTags('partner self-service')
@Controller('v1/me/accesses')
export class MyAccessesController {
  constructor(private readonly audit: AuditService) {}

  @Get() @PartnerAuth()
  @ApiOperation({ summary: "This partner's own audit entries, newest first" })
  accesses(@Query() query: AccessesQuery, @CurrentPartner() principal: PartnerPrincipal) {
    return this.audit.search({ partnerId: principal.partner.id, kind: 'lookup', agent: query.agent,
      from: dateOf(query.from), to: dateOf(query.to) }, query.cursor, query.limit);
  }
}
