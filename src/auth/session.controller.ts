import { Body, Controller, Delete, Get, HttpCode, Post, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ActionLog } from '../audit/action-log';
import { Clock } from '../common/clock';
import { CreateOperatorDto, SessionDto } from '../partners/operator.dto';
import { OperatorsService } from '../partners/operators.service';
import { CurrentOperator, OperatorAuth, OperatorPrincipal, Public } from './access.decorators';
import { CONSOLE_COOKIE } from './access.guard';
import { WindowRateLimiter } from '../common/rate-limiter';
import { RateLimited } from '../common/errors/domain-errors';

const LOGIN_ATTEMPTS_PER_MINUTE = 10;

/** Operators' sessions and accounts. */
@ApiTags('operators')
@Controller('admin/api')
export class SessionController {
  private readonly attempts = new WindowRateLimiter(60_000);

  constructor(private readonly operators: OperatorsService, private readonly actions: ActionLog,
    private readonly clock: Clock) {}

  @Post('session') @HttpCode(200) @Public()
  @ApiOperation({ summary: 'Log in: a bearer token for the API, and an httpOnly cookie for the console' })
  async login(@Body() body: SessionDto, @Res({ passthrough: true }) reply: FastifyReply) {
    const attempt = this.attempts.take(body.email.toLowerCase(), LOGIN_ATTEMPTS_PER_MINUTE);
    if (!attempt.allowed) throw new RateLimited(attempt.resetMs / 1000, 'Too many login attempts; retry later.');
    const session = await this.operators.login(body.email, body.password);
    const maxAge = Math.floor((session.expires_at.getTime() - this.clock.now().getTime()) / 1000);
    reply.header('set-cookie',
      `${CONSOLE_COOKIE}=${session.token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`);
    return { token: session.token, expires_at: session.expires_at, operator: session.operator };
  }

  @Get('session') @OperatorAuth()
  whoami(@CurrentOperator() principal: OperatorPrincipal) {
    return { operator: principal.operator };
  }

  @Delete('session') @HttpCode(204) @OperatorAuth()
  async logout(@CurrentOperator() principal: OperatorPrincipal, @Res({ passthrough: true }) reply: FastifyReply) {
    await this.operators.logout(principal.sessionToken);
    reply.header('set-cookie', `${CONSOLE_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
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
