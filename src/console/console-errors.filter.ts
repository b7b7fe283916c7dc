import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { VerificationsBusy } from '../audit/audit.service';
import { toProblem } from '../common/errors/problem';
import { ClientGone } from '../common/http/client-gone';
import { logUnexpected } from '../common/errors/problem.filter';
import { html } from './html';
import { sendPage } from './console-page';

/** What a person reads for each refusal, in French; never a stack trace or an error's message. */
const PAGES: Record<number, { title: string; text: string }> = {
  400: { title: 'Demande incorrecte', text: 'La demande contient des champs incorrects.' },
  403: { title: 'Accès refusé', text: "Votre rôle ne vous permet pas d'ouvrir cette page ou de faire cette action." },
  404: { title: 'Page introuvable', text: "Cette page n'existe pas, ou ce qu'elle montrait n'existe plus." },
  409: { title: 'Action impossible', text: "L'état de cet élément ne permet pas cette action (elle a peut-être déjà été faite)." },
  429: { title: 'Trop de tentatives', text: 'Trop de tentatives en peu de temps : réessayez dans une minute.' },
  503: { title: 'Service momentanément indisponible', text: 'La base de données ne répond pas : réessayez dans quelques instants.' },
};
/** Where the status alone would say the wrong thing. */
const CODE_PAGES: Record<string, { title: string; text: string }> = {
  csrf_invalid: { title: 'Formulaire expiré', text: 'Ce formulaire a expiré ou ne vient pas de la console : revenez à la page précédente, rechargez-la et recommencez.' },
  instance_stopping: { title: 'Service en cours de redémarrage',
    text: "Le serveur qui traitait votre demande redémarre : elle a été interrompue et rien n'a été modifié. Relancez-la dans quelques secondes." },
};
const VERIFICATIONS_BUSY = { title: 'Vérifications en attente',
  text: "D'autres vérifications de la chaîne sont en cours ou attendent sur ce serveur : réessayez dans quelques minutes." };
const SERVER_ERROR = { title: 'Erreur du service', text: "Une erreur inattendue s'est produite. Elle a été journalisée ; réessayez plus tard." };

/**
 * The console's errors as French pages (DESIGN §4): a missing or expired session goes to the login page, a refusal
 * is an "Accès refusé" page, a bad CSRF token says to reload the form. Problem codes stay visible for support.
 */
@Catch()
export class ConsoleErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Console');

  catch(error: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (reply.sent) return;
    if (error instanceof ClientGone) {
      request.outcome = 'client_gone';
      return;
    }
    const { body } = toProblem(error, request.id);
    if (body.status === 401) {
      void reply.redirect(`/console/connexion${request.method === 'GET' ? `?retour=${encodeURIComponent(request.url)}` : ''}`, 303);
      return;
    }
    request.outcome = body.code;
    if (body.status >= 500 && body.code === 'internal_error') logUnexpected(error, request, this.logger);
    if (body.code === 'second_factor_required') {
      void reply.redirect('/console/securite', 303);
      return;
    }
    const page = error instanceof VerificationsBusy ? VERIFICATIONS_BUSY : CODE_PAGES[body.code] ?? PAGES[body.status] ?? SERVER_ERROR;
    const operator = request.operatorPrincipal?.operator;
    let csrf = '';
    try {
      csrf = reply.generateCsrf();
    } catch {
      csrf = '';
    }
    sendPage(reply, { operator, csrf, sandbox: false }, {
      title: page.title, status: body.status,
      content: html`<h1>${page.title}</h1>
        <p class="fr-text--lg">${page.text}</p>
        ${body.errors?.length ? html`<ul>${body.errors.map((e) => html`<li><code>${e.field}</code> : ${e.reason}</li>`)}</ul>` : ''}
        <p class="fr-text--sm">Référence à communiquer au support : <code>${request.id}</code> (code <code>${body.code}</code>).</p>
        <ul class="fr-btns-group fr-btns-group--inline"><li><a class="fr-btn fr-btn--secondary" href="/console">Retour à l'accueil de la console</a></li></ul>`,
    });
  }
}
