import { Body, Controller, Delete, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ActionLog } from '../audit/action-log';
import { Clock } from '../common/clock';
import { CreateOperatorDto, SessionDto } from '../partners/operator.dto';
import { OperatorsService } from '../partners/operators.service';
import { CurrentOperator, OperatorAuth, OperatorPrincipal, Public } from './access.decorators';
import { CONSOLE_COOKIE } from './access.guard';
import { FailedAttempts } from '../common/rate-limiter';
import { RateLimited, Unauthenticated } from '../common/errors/domain-errors';
import { APP_CONFIG, AppConfig } from '../common/config/config';

/** The console's session cookie: httpOnly, SameSite=Strict, and Secure whenever the client spoke HTTPS. */
export function sessionCookie(request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  return `${CONSOLE_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${request.protocol === 'https' ? '; Secure' : ''}`;
}

/** Operators' sessions and accounts. */
@ApiTags('operators')
@Controller('admin/api')
export class SessionController {
  private readonly failures: FailedAttempts;

  constructor(private readonly operators: OperatorsService, private readonly actions: ActionLog,
    private readonly clock: Clock, @Inject(APP_CONFIG) config: AppConfig) {
    this.failures = new FailedAttempts(config.limits.loginFailuresPerMinute, config.limits.loginFailuresPerAddressPerMinute);
  }

  @Post('session') @HttpCode(200) @Public()
  @ApiOperation({ summary: 'Log in: a bearer token for the API, and an httpOnly cookie for the console' })
  async login(@Body() body: SessionDto, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    // Failed logins are limited per account and address, and per address: a third party cannot lock an operator out.
    const account = body.email.toLowerCase();
    const nowMs = this.clock.now().getTime();
    const wait = this.failures.retryAfterMs(account, request.ip, nowMs);
    if (wait > 0) throw new RateLimited(wait / 1000, 'Too many failed logins from this address; retry later.');
    let session;
    try {
      session = await this.operators.login(body.email, body.password);
    } catch (error) {
      if (error instanceof Unauthenticated) this.failures.failed(account, request.ip, nowMs);
      throw error;
    }
    const maxAge = Math.floor((session.expires_at.getTime() - this.clock.now().getTime()) / 1000);
    reply.header('set-cookie', sessionCookie(request, session.token, maxAge));
    return { token: session.token, expires_at: session.expires_at, operator: session.operator };
  }

  @Get('session') @OperatorAuth()
  whoami(@CurrentOperator() principal: OperatorPrincipal) {
    return { operator: principal.operator };
  }

  @Delete('session') @HttpCode(204) @OperatorAuth()
  async logout(@CurrentOperator() principal: OperatorPrincipal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    await this.operators.logout(principal.sessionToken);
    reply.header('set-cookie', sessionCookie(request, '', 0));
  }

  @Get('operators') @OperatorAuth('admin')
  listOperators() {
    return this.operators.list();
  }

  @Post('operators') @HttpCode(201) @OperatorAuth('admin')
  async createOperator(@Body() body: CreateOperatorDto, @CurrentOperator() principal: OperatorPrincipal) {
    const operator = await this.operators.create(body);
    await this.actions.record({ actor: { type: 'operator', operatorId: principal.operator.id },
      action: 'operator.created', targetType: 'operator', targetId: operator.id, detail: { roles: operator.roles },
      at: this.clock.now() });
    return operator;
  }
}
