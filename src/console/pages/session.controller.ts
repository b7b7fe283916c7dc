import { Body, Controller, Get, HttpCode, Inject, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BeforeSecondFactor, CurrentOperator, OperatorAuth, OperatorPrincipal, Public } from '../../auth/access.decorators';
import { OperatorLogin } from '../../auth/operator-login';
import { sessionCookie } from '../../auth/session.controller';
import { APP_CONFIG, AppConfig } from '../../common/config/config';
import { RateLimited, Unauthenticated } from '../../common/errors/domain-errors';
import { OperatorsService } from '../../partners/operators.service';
import { button, form, input } from '../components';
import { ConsoleCsrfGuard } from '../console-csrf.guard';
import { ConsoleErrorFilter } from '../console-errors.filter';
import { pageContext, sectionsFor, sendPage } from '../console-page';
import { FormBody, text } from '../forms';
import { html } from '../html';

/** Where to go back after logging in: a console path only, never another site. */
const safeReturn = (value: string | undefined) => (value && /^\/console(\/[A-Za-z0-9/_-]*)?(\?[A-Za-z0-9=&%_.-]*)?$/.test(value) ? value : '/console');

/** Logging in and out of the console (DESIGN §4): the same login, throttles and sessions as the API. */
@ApiExcludeController()
@Controller('console')
@UseFilters(ConsoleErrorFilter)
@UseGuards(ConsoleCsrfGuard)
export class ConsoleSessionController {
  constructor(private readonly login: OperatorLogin, private readonly operators: OperatorsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get() @OperatorAuth()
  home(@CurrentOperator() principal: OperatorPrincipal, @Res() reply: FastifyReply) {
    return reply.redirect(sectionsFor(principal.operator.roles)[0]?.href ?? '/console/disponibilite', 303);
  }

  @Get('connexion') @Public()
  page(@Query('retour') back: string | undefined, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    return this.render(request, reply, { back: safeReturn(back) });
  }

  @Post('connexion') @Public() @HttpCode(303)
  async submit(@Body() body: FormBody, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const email = text(body, 'email') ?? '';
    const password = text(body, 'password') ?? '';
    const back = safeReturn(text(body, 'retour'));
    if (!email || !password) return this.render(request, reply, { back, email, error: 'Saisissez votre adresse électronique et votre mot de passe.' }, 400);
    try {
      const session = await this.login.login(email, password, request.ip, text(body, 'totp'));
      reply.header('set-cookie', sessionCookie(request, session.token, session.maxAgeSeconds));
      return reply.redirect(back, 303);
    } catch (error) {
      if (error instanceof RateLimited) return this.render(request, reply, { back, email, error: 'Trop de tentatives : réessayez dans une minute.' }, 429);
      if (error instanceof Unauthenticated) {
        const message = error.code === 'totp_required'
          ? 'La double authentification est activée sur ce compte : saisissez aussi le code de votre application.'
          : error.code === 'invalid_totp' ? 'Code de double authentification incorrect, expiré ou déjà utilisé.' : 'Adresse ou mot de passe incorrect.';
        return this.render(request, reply, { back, email, error: message }, 401);
      }
      throw error;
    }
  }

  @Post('deconnexion') @OperatorAuth() @BeforeSecondFactor() @HttpCode(303)
  async logout(@CurrentOperator() principal: OperatorPrincipal, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    await this.operators.logout(principal.sessionToken);
    reply.header('set-cookie', sessionCookie(request, '', 0));
    return reply.redirect('/console/connexion', 303);
  }

  private render(request: FastifyRequest, reply: FastifyReply, view: { back: string; email?: string; error?: string }, status = 200) {
    const context = pageContext(request, reply, this.config.sandbox);
    return sendPage(reply, { ...context, operator: undefined }, {
      title: 'Connexion', status,
      content: html`<div class="fr-grid-row fr-grid-row--center"><div class="fr-col-12 fr-col-md-8 fr-col-lg-6">
        <h1>Connexion à la console</h1>
        <p>Réservée aux opérateurs et aux auditeurs de la DINSIC. Chaque action y est tracée dans le journal d'audit.</p>
        ${view.error ? html`<div class="fr-alert fr-alert--error fr-alert--sm fr-mb-3w" role="alert"><p>${view.error}</p></div>` : ''}
        ${form('/console/connexion', context.csrf, html`
          <input type="hidden" name="retour" value="${view.back}">
          ${input({ name: 'email', label: 'Adresse électronique', type: 'email', value: view.email, required: true, autocomplete: 'username' })}
          ${input({ name: 'password', label: 'Mot de passe', type: 'password', required: true, autocomplete: 'current-password' })}
          ${input({ name: 'totp', label: 'Code de double authentification', autocomplete: 'one-time-code',
            hint: "Si vous l'avez activée : les 6 chiffres de votre application, ou un code de secours" })}
          ${button('Se connecter')}`, 'Connexion')}
      </div></div>`,
    });
  }
}
