import { Controller, Get, Header, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentOperator, CurrentPartner, OperatorAuth, OperatorPrincipal, PartnerAuth, PartnerPrincipal, Public } from '../auth/access.decorators';
import { Clock } from '../common/clock';
import { ValidationFailed } from '../common/errors/domain-errors';
import { checkNir, normaliseNir } from '../rights/nir';
import { ActionLog } from './action-log';
import { AccessesQuery, AuditQuery, ExportQuery, VerifyQuery } from './audit-query.dto';
import { AuditService } from './audit.service';
import { SubjectRefs } from './subject-refs';

const dateOf = (value?: string) => (value ? new Date(value) : undefined);

/** Auditors' access to the trail (DESIGN §4). Each search, export and verification is itself traced. */
@ApiTags('audit')
@Controller('admin/api/audit')
@OperatorAuth('auditor')
export class AuditController {
  constructor(private readonly audit: AuditService, private readonly refs: SubjectRefs, private readonly actions: ActionLog,
    private readonly clock: Clock) {}

  @Get()
  @ApiOperation({ summary: 'Search the sealed trail, newest first (cursor pagination)' })
  async search(@Query() query: AuditQuery, @CurrentOperator() principal: OperatorPrincipal) {
    let subjectRef: string | undefined;
    if (query.subject_nir !== undefined) {
      const nir = normaliseNir(query.subject_nir);
      if (checkNir(nir)) throw new ValidationFailed([{ field: 'subject_nir', reason: 'must be a valid NIR' }]);
      subjectRef = this.refs.forNir(nir);
    }
    await this.trace(principal, 'audit.searched', { partner: query.partner ?? null, agent: query.agent ?? null,
      by_subject: subjectRef !== undefined, from: query.from ?? null, to: query.to ?? null });
    return this.audit.search({ partnerId: query.partner, agent: query.agent, subjectRef, kind: query.kind,
      from: dateOf(query.from), to: dateOf(query.to) }, query.cursor, query.limit);
  }

  @Get('export')
  @ApiOperation({ summary: 'Stream the trail (NDJSON or CSV) with its chain fields and covering checkpoints' })
  async export(@Query() query: ExportQuery, @CurrentOperator() principal: OperatorPrincipal, @Res() reply: FastifyReply) {
    const format = query.format ?? 'ndjson';
    await this.trace(principal, 'audit.exported', { format, partner: query.partner ?? null, from: query.from ?? null, to: query.to ?? null });
    reply.header('content-type', format === 'ndjson' ? 'application/x-ndjson; charset=utf-8' : 'text/csv; charset=utf-8');
    reply.header('content-disposition', `attachment; filename="audit-${this.clock.now().toISOString().slice(0, 10)}.${format}"`);
    reply.header('cache-control', 'no-store');
    return reply.send(this.audit.export({ partnerId: query.partner, from: dateOf(query.from), to: dateOf(query.to) }, format));
  }

  @Get('verify')
  @ApiOperation({ summary: 'Recompute the chain and check the checkpoints: { ok, checked, first_bad_seq? }' })
  async verify(@Query() query: VerifyQuery, @CurrentOperator() principal: OperatorPrincipal) {
    const result = await this.audit.verify(dateOf(query.from), dateOf(query.to));
    await this.trace(principal, 'audit.verified', { from: query.from ?? null, to: query.to ?? null, ok: result.ok });
    return result;
  }

  private trace(principal: OperatorPrincipal, action: string, detail: Record<string, unknown>): Promise<void> {
    return this.actions.record({ actor: { type: 'operator', operatorId: principal.operator.id }, action, targetType: 'audit',
      detail, at: this.clock.now() });
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
