import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { PartnerAuthenticator } from '../auth/partner-authenticator';
import { Clock } from '../common/clock';
import { RateLimited } from '../common/errors/domain-errors';
import { WindowRateLimiter } from '../common/rate-limiter';
import { parisDate, parseLookupRequest } from './lookup-request';
import { LookupResult, RightsService } from './rights.service';
import { SCOPES } from './scopes';

export const LOOKUP_PATH = '/v1/droits/recherche';

/**
 * POST /v1/droits/recherche, the gateway's hot path, registered straight on Fastify: the same checks as every
 * other route (token, partner status, scopes; errors through the problem filter) without Nest's per-request
 * pipeline, which costs a third of the throughput here (docs/decisions.md).
 */
@Injectable()
export class LookupRoute implements OnModuleInit {
  private readonly limiter = new WindowRateLimiter(1000);
  private today = { minute: -1, date: '' };

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly partners: PartnerAuthenticator,
    private readonly rights: RightsService,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return; // an application context (the CLI) serves no HTTP
    fastify.post(LOOKUP_PATH, (request, reply) => this.handle(request, reply));
  }

  async handle(request: FastifyRequest, reply: FastifyReply): Promise<LookupResult> {
    reply.header('cache-control', 'no-store');
    const principal = await this.partners.authenticate(request, SCOPES);
    const now = this.clock.now();
    const quota = this.limiter.take(principal.partner.id, principal.partner.rateLimitPerSecond, now.getTime());
    reply.header('ratelimit-limit', quota.limit);
    reply.header('ratelimit-remaining', quota.remaining);
    reply.header('ratelimit-reset', Math.max(1, Math.ceil(quota.resetMs / 1000)));
    if (!quota.allowed) throw new RateLimited(quota.resetMs / 1000, 'This partner exceeded its lookups per second.');
    const lookup = parseLookupRequest(request.body, this.parisToday(now));
    return this.rights.lookup(principal, lookup, request.id);
  }

  /** Today in Europe/Paris, recomputed once a minute rather than per request. */
  private parisToday(now: Date): string {
    const minute = Math.floor(now.getTime() / 60_000);
    if (minute !== this.today.minute) this.today = { minute, date: parisDate(now) };
    return this.today.date;
  }
}

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });

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
      requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/LookupDto' } } } },
      responses: {
        200: { description: '{ request_id, date_reference, droits: { <granted categories> } } — the person is known' },
        400: problem('invalid_request: field errors'),
        401: problem('token_missing, invalid_token, token_expired, partner_inactive'),
        403: problem('scope_not_granted, recipient_not_declared'),
        404: problem('person_not_found: the backend does not know this person (a decision)'),
        429: problem('rate_limited, with Retry-After and RateLimit-* headers'),
        502: problem('upstream_error — retryable, not a decision on rights'),
        503: problem('upstream_unavailable or maintenance — retryable, with Retry-After'),
        504: problem('upstream_timeout — retryable, not a decision on rights'),
      },
    },
  };
}
