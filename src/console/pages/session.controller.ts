import { Body, Controller, Get, HttpCode, Inject, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BeforeSecondFactor, CurrentOperator, OperatorAuth, OperatorPrincipal, Public } from '../../auth/access.decorators';
import { OidcLogin, PendingOidcLogin } from '../../auth/oidc-login';
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

const OIDC_COOKIE = 'cnam_console_oidc';

/** Where the provider sends the browser back: this gateway, as the browser reached it. */
const callbackUrl = (request: FastifyRequest) => `${request.protocol}://${request.host}/console/oidc/retour`;

/** Where to go back after logging in: a console path only, never another site. */
const safeReturn = (value: string | undefined) => (value && /^\/console(\/[A-Za-z0-9/_-]*)?(\?[A-Za-z0-9=&%_.-]*)?$/.test(value) ? value : '/console');

/** Logging in and out of the console (DESIGN §4): the same login, throttles and sessions as the API. */
@ApiExcludeController()
@Controller('console')
@UseFilters(ConsoleErrorFilter)
@UseGuards(ConsoleCsrfGuard)
export class ConsoleSessionController {
  constructor(private readonly login: OperatorLogin, private readonly operators: OperatorsService, private readonly oidc: OidcLogin,
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

  @Get('oidc') @Public()
  async singleSignOn(@Query('retour') back: string | undefined, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const { url, pending } = await this.oidc.start(callbackUrl(request), safeReturn(back));
    // Lax, not Strict: the provider's redirect back is a cross-site navigation, which must carry it.
    reply.setCookie(OIDC_COOKIE, Buffer.from(JSON.stringify(pending)).toString('base64url'),
      { path: '/console/oidc', httpOnly: true, sameSite: 'lax', secure: request.protocol === 'https', signed: true, maxAge: 600 });
    return reply.redirect(url, 303);
  }

  @Get('oidc/retour') @Public()
  async singleSignOnReturn(@Query() query: Record<string, string>, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const raw = request.cookies[OIDC_COOKIE];
    reply.clearCookie(OIDC_COOKIE, { path: '/console/oidc' });
    const unsigned = raw ? request.unsignCookie(raw) : undefined;
    let pending: PendingOidcLogin | undefined;
    try {
      pending = unsigned?.valid && unsigned.value ? JSON.parse(Buffer.from(unsigned.value, 'base64url').toString('utf8')) : undefined;
    } catch {
      pending = undefined;
    }
    if (!pending) return this.render(request, reply, { back: '/console', error: 'La connexion par ProConnect a expiré : recommencez.' }, 400);
    try {
      const session = await this.oidc.finish(callbackUrl(request), query, pending);
      reply.header('set-cookie', sessionCookie(request, session.token, Math.floor((session.expires_at.getTime() - Date.now()) / 1000)));
      // A page, not a redirect: the next navigation starts here (same site), so the SameSite=Strict session cookie is sent.
      return sendPage(reply, { ...pageContext(request, reply, this.config.sandbox), operator: undefined }, {
        title: 'Connexion réussie', refreshTo: pending.back,
        content: html`<h1>Connexion réussie</h1><p><a class="fr-link" href="${pending.back}">Continuer vers la console</a></p>`,
      });
    } catch (error) {
      if (!(error instanceof Unauthenticated)) throw error;
      const message = error.code === 'oidc_unknown_operator'
        ? "Votre compte ProConnect n'est associé à aucun opérateur de la console : demandez à un administrateur de vous ajouter."
        : "ProConnect n'a pas confirmé la connexion : recommencez.";
      return this.render(request, reply, { back: pending.back, error: message }, 401);
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
        ${this.oidc.enabled ? html`<p><a class="fr-btn fr-btn--secondary" href="/console/oidc?retour=${encodeURIComponent(view.back)}">Se connecter avec ProConnect</a></p>
          <p class="fr-hr-or">ou</p>` : ''}
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
