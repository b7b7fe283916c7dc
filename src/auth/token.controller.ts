import { Controller, Get, Header, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { OAuthError } from '../common/errors/domain-errors';
import { findUnsafeValue } from '../common/http/safe-input';
import { Public } from './access.decorators';
import { SigningKeys } from './signing-keys';
import { TokenRequest, TokenService } from './token.service';
import { ApiProblems } from '../common/errors/api-problems';

/** OAuth 2.0 token endpoint and the public keys that verify its tokens. */
@ApiTags('tokens')
@Controller()
export class TokenController {
  constructor(private readonly tokens: TokenService, private readonly keys: SigningKeys) {}

  @Post('oauth/token') @HttpCode(200) @Public()
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({ schema: { type: 'object', required: ['grant_type'], properties: {
    grant_type: { type: 'string', enum: ['client_credentials'] }, scope: { type: 'string', description: 'space-separated; default: every granted scope' },
    client_id: { type: 'string', description: 'with client_secret, instead of HTTP Basic' }, client_secret: { type: 'string' } },
  example: { grant_type: 'client_credentials', scope: 'droits.ouverture droits.c2s' } } })
  @ApiProblems('invalid_request', 'invalid_client', 'invalid_scope', 'unsupported_grant_type', 'rate_limited')
  @Header('cache-control', 'no-store') @Header('pragma', 'no-cache')
  @ApiOperation({ summary: 'Client credentials grant (RFC 6749 §4.4), form-encoded; client by HTTP Basic or form' })
  issue(@Req() request: FastifyRequest) {
    return this.tokens.issue(readTokenRequest(request));
  }

  @Get('.well-known/jwks.json') @Public() @Header('cache-control', 'public, max-age=300')
  @ApiOperation({ summary: 'Public keys (JWKS) that verify access tokens' })
  jwks() {
    return this.keys.jwks();
  }
}

function field(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new OAuthError('invalid_request', `${name} must be given once, as a string.`);
  return value;
}

/** Reads RFC 6749 parameters from the form body and the client's HTTP Basic credentials (§2.3.1). */
export function readTokenRequest(request: FastifyRequest): TokenRequest {
  const raw = request.body;
  const body = raw && typeof raw === 'object' && !Array.isArray(raw) ? raw as Record<string, unknown> : {};
  const fromBody = { clientId: field(body, 'client_id'), clientSecret: field(body, 'client_secret') };
  const header = request.headers.authorization;
  let fromHeader: { clientId?: string; clientSecret?: string } = {};
  if (typeof header === 'string' && /^basic /i.test(header)) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError('invalid_client', 'Malformed HTTP Basic credentials.');
    try {
      fromHeader = {
        clientId: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
        clientSecret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
      };
    } catch {
      throw new OAuthError('invalid_client', 'Malformed HTTP Basic credentials.');
    }
    if (fromBody.clientId || fromBody.clientSecret) {
      throw new OAuthError('invalid_request', 'Use one client authentication method, not both.');
    }
    // The header escapes the entry point's check of bodies and queries: its decoded values get the same.
    if (findUnsafeValue(fromHeader.clientId) || findUnsafeValue(fromHeader.clientSecret)) {
      throw new OAuthError('invalid_client', 'Malformed HTTP Basic credentials.');
    }
  }
  return {
    clientAddress: request.ip,
    grantType: field(body, 'grant_type'),
    scope: field(body, 'scope'),
    clientId: fromHeader.clientId ?? fromBody.clientId,
    clientSecret: fromHeader.clientSecret ?? fromBody.clientSecret,
  };
}
