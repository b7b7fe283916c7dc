import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CODES_EXTENSION } from '../common/errors/api-problems';
import type { OpenAPIObject } from '@nestjs/swagger';
import type { PartnerPrincipal } from '../auth/access.decorators';
import { PartnerAuthenticator } from '../auth/partner-authenticator';
import { Clock } from '../common/clock';
import { RateLimited } from '../common/errors/domain-errors';
import { NewAuditEntry } from '../audit/audit-queue';
import { AuditWriter } from '../audit/audit-writer';
import { SubjectRefs } from '../audit/subject-refs';
import { SlaRecorder } from '../sla/sla-recorder';
import { DomainError } from '../common/errors/domain-errors';
import { parisDate } from '../common/paris-date';
import { InvalidLookup, LookupRequest, LookupTraceFields, parseLookupRequest, traceableFields } from './lookup-request';
import { LookupResult, LookupTrace, RightsService } from './rights.service';
import { PartnerRateLimit } from './partner-rate-limit';
import { SCOPES } from './scopes';

export const LOOKUP_PATH = '/v1/droits/recherche';

/** The audit outcome of each answer (DESIGN §5): ok, person_not_found, invalid, denied, rate_limited, unavailable, timeout. */
const OUTCOMES: Record<string, string> = {
  ok: 'ok', person_not_found: 'person_not_found', invalid_request: 'invalid', malformed_body: 'invalid',
  scope_not_granted: 'denied', recipient_not_declared: 'denied', rate_limited: 'rate_limited',
  upstream_unavailable: 'unavailable', maintenance: 'unavailable', upstream_error: 'upstream_error',
  upstream_timeout: 'timeout', audit_unavailable: 'unavailable',
};

/**
 * POST /v1/droits/recherche, the gateway's hot path, registered straight on Fastify: the same checks as every
 * other route (token, partner status, scopes; errors through the problem filter) without Nest's per-request
 * pipeline, which costs a third of the throughput here (docs/decisions.md).
 */
@Injectable()
export class LookupRoute implements OnModuleInit {
  private today = { minute: -1, date: '' };

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly partners: PartnerAuthenticator,
    private readonly rights: RightsService,
    private readonly audit: AuditWriter,
    private readonly refs: SubjectRefs,
    private readonly clock: Clock,
    private readonly sla: SlaRecorder,
    private readonly rateLimit: PartnerRateLimit,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return; // an application context (the CLI) serves no HTTP
    fastify.post(LOOKUP_PATH, (request, reply) => this.handle(request, reply));
  }

  /**
   * Every lookup of a known partner (and of the availability probe) is traced, whatever its outcome, and personal
   * data leaves only once its entry is committed: if the trail cannot take it, the answer is 503 audit_unavailable
   * instead. Partners' lookups are counted for availability and usage (SlaRecorder) with the status they get.
   */
  async handle(request: FastifyRequest, reply: FastifyReply): Promise<LookupResult> {
    const occurredAt = this.clock.now();
    const started = performance.now();
    const trace: LookupTrace = {};
    let lookup: LookupRequest | undefined;
    let result: LookupResult | undefined;
    let failure: unknown;
    try {
      const principal = await this.partners.authenticate(request, SCOPES, true);
      const taken = this.rateLimit.take(principal.partner.id, principal.partner.rateLimitPerSecond, occurredAt.getTime());
      const quota = taken instanceof Promise ? await taken : taken; // no extra tick with the local policy
      reply.header('ratelimit-limit', quota.limit);
      reply.header('ratelimit-remaining', quota.remaining);
      reply.header('ratelimit-reset', Math.max(1, Math.ceil(quota.resetMs / 1000)));
      if (!quota.allowed) throw new RateLimited(quota.resetMs / 1000, 'This partner exceeded its lookups per second.');
      lookup = parseLookupRequest(request.body, this.parisToday(occurredAt));
      result = await this.rights.lookup(principal, lookup, request.id, trace);
    } catch (error) {
      failure = error;
    }
    const principal = request.partnerPrincipal;
    if (principal) {
      // Refused before or while its body was read, an attempt still says who, for which case and for whom.
      const fields: LookupTraceFields = lookup ?? (failure instanceof InvalidLookup ? failure.traceable
        : traceableFields(request.body, this.parisToday(occurredAt)));
      let answered = outcomeOf(failure);
      try {
        await this.audit.append(this.entry(request, principal, occurredAt, fields, trace, result, answered));
      } catch (auditError) {
        if (!failure) failure = auditError; // the data is not sent: 503 audit_unavailable
        answered = outcomeOf(failure);
      }
      if (!principal.probe) {
        this.sla.recordLookup(occurredAt, principal.partner.id, answered.status, answered.code, OUTCOMES[answered.code] ?? answered.code,
          performance.now() - started);
      }
    }
    if (failure) throw failure;
    return result!;
  }

  private entry(request: FastifyRequest, principal: PartnerPrincipal, occurredAt: Date, lookup: LookupTraceFields,
    trace: LookupTrace, result: LookupResult | undefined, { status, code }: { status: number; code: string }): NewAuditEntry {
    let subjectRef: string | null = null;
    if (trace.resolvedNir) subjectRef = this.refs.forNir(trace.resolvedNir);
    else if (lookup.subject && 'nir' in lookup.subject) subjectRef = this.refs.forNir(lookup.subject.nir);
    else if (lookup.subject && 'identite' in lookup.subject) subjectRef = this.refs.forIdentity(lookup.subject.identite);
    return {
      // The probe is no partner: its entries are of their own kind, with no partner.
      occurred_at: occurredAt, kind: principal.probe ? 'probe' : 'lookup', partner_id: principal.probe ? null : principal.partner.id,
      recipient: lookup.recipient ?? null, agent: lookup.agent ?? null, context: lookup.context ?? null,
      object: lookup.object ?? null, subject_ref: subjectRef,
      scopes_returned: result ? trace.scopesReturned ?? [] : [],
      outcome: OUTCOMES[code] ?? code, http_status: status, request_id: request.id, upstream_ms: trace.upstreamMs ?? null,
    };
  }

  /** Today in Europe/Paris, recomputed once a minute rather than per request. */
  private parisToday(now: Date): string {
    const minute = Math.floor(now.getTime() / 60_000);
    if (minute !== this.today.minute) this.today = { minute, date: parisDate(now) };
    return this.today.date;
  }
}

/** The status and problem code a lookup is answered with. */
function outcomeOf(failure: unknown): { status: number; code: string } {
  if (failure instanceof DomainError) return { status: failure.status, code: failure.code };
  return failure ? { status: 500, code: 'internal_error' } : { status: 200, code: 'ok' };
}

/** Adds the lookup operation to the generated OpenAPI document (the route is not a Nest controller). */
export function documentLookupRoute(document: OpenAPIObject): void {
  document.components ??= {};
  document.components.schemas ??= {};
  document.components.schemas.Problem = {
    type: 'object', required: ['type', 'title', 'status', 'detail', 'code'],
    properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' },
      code: { type: 'string' }, request_id: { type: 'string' }, retryable: { type: 'boolean' },
      errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, reason: { type: 'string' } } } } },
  };
  document.paths[LOOKUP_PATH] = {
    post: {
      tags: ['rights'], operationId: 'lookupRights', security: [{ bearer: [] }],
      summary: "Look up a person's health-insurance rights; only the granted categories are returned",
      requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/LookupDto' },
        example: { nir: '284057505612387', recipient: '21690123100011', context: 'RSA', object: 'dossier 2026-001234', agent: 'agent-4711' } } } },
      responses: {
        200: { description: '{ request_id, date_reference, droits: { <granted categories> } } — the person is known' },
      },
      // Each with its example (src/docs/openapi-problems.ts): 404 person_not_found is a decision; 502, 503 and 504 never are.
      [PROBLEM_CODES_EXTENSION]: ['token_missing', 'invalid_token', 'token_expired', 'partner_inactive', 'scope_not_granted',
        'recipient_not_declared', 'person_not_found', 'rate_limited', 'upstream_error', 'upstream_unavailable', 'maintenance', 'upstream_timeout'],
    } as OpenAPIObject['paths'][string]['post'],
  };
}
