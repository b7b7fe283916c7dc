import { Body, Controller, Get, Inject, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BeforeSecondFactor, CurrentOperator, OperatorAuth, OperatorPrincipal } from '../../auth/access.decorators';
import { APP_CONFIG, AppConfig } from '../../common/config/config';
import { ValidationFailed } from '../../common/errors/domain-errors';
import { OperatorTotp, PendingEnrolment } from '../../partners/operator-totp';
import { alert, button, form, input, linkButton } from '../components';
import { ConsoleCsrfGuard } from '../console-csrf.guard';
import { ConsoleErrorFilter } from '../console-errors.filter';
import { PageContext, pageContext, redirectWithFlash, sendPage } from '../console-page';
import { FormBody, text } from '../forms';
import { html, raw } from '../html';

const SECTION = '/console/securite';

/**
 * The operator's own account security (DESIGN §4): enrol a TOTP authenticator (QR code drawn by the gateway), then
 * read the recovery codes once. Open before the second factor, so that OPERATOR_MFA_REQUIRED can send operators here.
 */
@ApiExcludeController()
@Controller('console/securite')
@UseFilters(ConsoleErrorFilter)
@UseGuards(ConsoleCsrfGuard)
@OperatorAuth()
@BeforeSecondFactor()
export class ConsoleSecurityController {
  constructor(private readonly totp: OperatorTotp, @Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get()
  page(@CurrentOperator() principal: OperatorPrincipal, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const context = pageContext(request, reply, this.config.sandbox);
    const operator = principal.operator;
    return sendPage(reply, context, {
      title: 'Sécurité du compte', breadcrumb: [['Console', '/console'], ['Sécurité du compte', SECTION]],
      content: html`<h1>Sécurité du compte</h1>
        ${operator.second_factor
          ? alert('success', 'Double authentification activée', 'Chaque connexion demande le code de votre application d\'authentification (ou un code de secours).')
          : html`${this.config.operatorMfaRequired
            ? alert('warning', 'Double authentification obligatoire', 'La console donne accès aux traces de consultation des droits : activez la double authentification pour continuer.')
            : alert('info', 'Double authentification non activée', 'Un mot de passe seul ne suffit pas à protéger l\'accès aux traces : activez-la.')}
            <p>Il vous faut une application d'authentification (FreeOTP, Aegis, Google Authenticator, l'application de votre gestionnaire de mots de passe…).</p>
            ${form(`${SECTION}/totp`, context.csrf, button('Activer la double authentification', { id: 'enrol' }), 'Activer la double authentification')}`}`,
    });
  }

  @Post('totp')
  async start(@CurrentOperator() principal: OperatorPrincipal, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const enrolment = await this.totp.startEnrolment(principal.operator);
    return this.renderEnrolment(pageContext(request, reply, this.config.sandbox), reply, enrolment);
  }

  @Post('totp/confirmer')
  async confirm(@Body() body: FormBody, @CurrentOperator() principal: OperatorPrincipal, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const context = pageContext(request, reply, this.config.sandbox);
    let codes: string[];
    try {
      codes = await this.totp.confirmEnrolment(principal.operator, text(body, 'code') ?? '');
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      const pending = await this.totp.pendingEnrolment(principal.operator);
      if (!pending) return redirectWithFlash(request, reply, SECTION, "L'activation a expiré : recommencez.", 'error');
      return this.renderEnrolment(context, reply, pending, 'Ce code ne correspond pas : saisissez le code affiché maintenant par l\'application.', 400);
    }
    return sendPage(reply, { ...context, operator: { ...principal.operator, second_factor: true } }, {
      title: 'Codes de secours', breadcrumb: [['Console', '/console'], ['Sécurité du compte', SECTION], ['Codes de secours', '']],
      content: html`<h1>Double authentification activée</h1>
        ${alert('warning', 'Codes de secours : notez-les maintenant', 'Ils ne seront plus jamais affichés. Chacun permet une connexion si vous n\'avez plus votre application ; conservez-les hors de cet ordinateur.')}
        <ul class="cnam-secret" id="recovery-codes">${codes.map((code) => html`<li><code>${code}</code></li>`)}</ul>
        <p>${linkButton('Continuer vers la console', '/console', 'primary')}</p>`,
    });
  }

  private renderEnrolment(context: PageContext, reply: FastifyReply, enrolment: PendingEnrolment, error?: string, status = 200) {
    return sendPage(reply, context, {
      title: 'Activer la double authentification', status, breadcrumb: [['Console', '/console'], ['Sécurité du compte', SECTION], ['Activation', '']],
      content: html`<h1>Activer la double authentification</h1>
        <ol>
          <li>Scannez ce code avec votre application d'authentification.</li>
          <li>Saisissez le code à 6 chiffres qu'elle affiche.</li>
        </ol>
        <figure class="fr-my-3w" role="group" aria-labelledby="qr-caption">
          <div class="cnam-qr" role="img" aria-label="Code QR de la double authentification">${raw(enrolment.qrSvg)}</div>
          <figcaption id="qr-caption">Si vous ne pouvez pas le scanner, saisissez cette clé dans l'application :
            <code id="totp-secret">${enrolment.secret}</code></figcaption>
        </figure>
        ${form(`${SECTION}/totp/confirmer`, context.csrf, html`
          ${input({ name: 'code', label: 'Code à 6 chiffres', autocomplete: 'one-time-code', required: true, error })}
          ${button('Confirmer', { id: 'confirm-totp' })}`, 'Confirmer la double authentification')}`,
    });
  }
}
