import { Body, Controller, Delete, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ActionLog } from '../audit/action-log';
import { Clock } from '../common/clock';
import { CreateOperatorDto, SessionDto } from '../partners/operator.dto';
import { OperatorsService } from '../partners/operators.service';
import { BeforeSecondFactor, CurrentOperator, OperatorAuth, OperatorPrincipal, Public } from './access.decorators';
import { CONSOLE_COOKIE } from './access.guard';
import { OperatorLogin } from './operator-login';
import { ApiProblems } from '../common/errors/api-problems';

/** The console's session cookie: httpOnly, SameSite=Strict, and Secure whenever the client spoke HTTPS. */
export function sessionCookie(request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  return `${CONSOLE_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${request.protocol === 'https' ? '; Secure' : ''}`;
}

/** Operators' sessions and accounts. */
@ApiTags('operators')
@Controller('admin/api')
export class SessionController {
  constructor(private readonly operators: OperatorsService, private readonly actions: ActionLog,
    private readonly clock: Clock, private readonly operatorLogin: OperatorLogin) {}

  @Post('session') @HttpCode(200) @Public() @ApiProblems('invalid_credentials', 'totp_required', 'invalid_totp', 'rate_limited')
  @ApiOperation({ summary: 'Log in: a bearer token for the API, and an httpOnly cookie for the console' })
  async login(@Body() body: SessionDto, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const session = await this.operatorLogin.login(body.email, body.password, request.ip, body.totp);
    reply.header('set-cookie', sessionCookie(request, session.token, session.maxAgeSeconds));
    return { token: session.token, expires_at: session.expires_at, operator: session.operator };
  }

  @Get('session') @OperatorAuth() @BeforeSecondFactor()
  whoami(@CurrentOperator() principal: OperatorPrincipal) {
    return { operator: principal.operator };
  }

  @Delete('session') @HttpCode(204) @OperatorAuth() @BeforeSecondFactor()
  async logout(@CurrentOperator() principal: OperatorPrincipal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    await this.operators.logout(principal.sessionToken);
    reply.header('set-cookie', sessionCookie(request, '', 0));
  }

  @Get('operators') @OperatorAuth('admin')
  listOperators() {
    return this.operators.list();
  }

  @Post('operators') @HttpCode(201) @OperatorAuth('admin') @ApiProblems('operator_exists')
  async createOperator(@Body() body: CreateOperatorDto, @CurrentOperator() principal: OperatorPrincipal) {
    const operator = await this.operators.create(body);
    await this.actions.record({ actor: { type: 'operator', operatorId: principal.operator.id },
      action: 'operator.created', targetType: 'operator', targetId: operator.id, detail: { roles: operator.roles },
      at: this.clock.now() });
    return operator;
  }
}
