import { frenchDateTime, percent as frenchPercent } from '../console/dates';
import { escapeHtml } from '../console/html';
import { NotificationType } from './outbox';

export interface Message {
  subject: string;
  text: string;
  html: string;
}

const when = (value: unknown) => (typeof value === 'string' || value instanceof Date ? `${frenchDateTime(value)} (heure de Paris)` : '');
const str = (value: unknown) => (value === null || value === undefined ? '' : String(value));
const percent = (value: unknown) => frenchPercent(typeof value === 'number' ? value : null);

/** Subject and paragraphs of each type; `d` is the row's data (the partner's name included). */
const TEMPLATES: Record<NotificationType, (d: Record<string, unknown>) => { subject: string; paragraphs: string[] }> = {
  'access_request.received': (d) => ({ subject: "Demande d'accès reçue",
    paragraphs: [`La demande d'accès de ${str(d.partner)} à l'API droits CNAM est bien reçue. Un opérateur de la DINSIC l'examinera ; vous serez informé de sa décision.`] }),
  'access_request.changes_requested': (d) => ({ subject: "Demande d'accès : des modifications sont demandées",
    paragraphs: [`Un opérateur de la DINSIC demande des modifications à la demande d'accès de ${str(d.partner)} :`, str(d.message)] }),
  'access_request.approved': (d) => ({ subject: "Demande d'accès approuvée",
    paragraphs: [`La demande d'accès de ${str(d.partner)} est approuvée. Identifiant client : ${str(d.client_id)}.`,
      `Catégories accordées : ${Array.isArray(d.scopes) ? d.scopes.join(', ') : ''}.`,
      "Le secret client vous est transmis séparément par l'opérateur : il n'est jamais envoyé par courriel."] }),
  'access_request.rejected': (d) => ({ subject: "Demande d'accès rejetée",
    paragraphs: [`La demande d'accès de ${str(d.partner)} est rejetée.`, `Motif : ${str(d.reason)}`] }),
  'audit.checkpoint': (d) => ({ subject: "Point de contrôle du journal d'audit",
    paragraphs: [`Dernier point de contrôle signé du journal d'audit : séquence ${str((d.checkpoint as Record<string, unknown>)?.seq)}, `
      + `empreinte ${str((d.checkpoint as Record<string, unknown>)?.hash)}. Il est joint à ce message.`,
      "Conservez-le : il permet de prouver que l'historique antérieur n'a pas été réécrit (npm run cli -- audit:verify --checkpoint)."] }),
  'terms.published': (d) => ({ subject: `Nouvelles conditions d'utilisation (version ${str(d.version)})`,
    paragraphs: [`Une nouvelle version des conditions d'utilisation de l'API droits CNAM s'appliquera le ${when(d.effective_at)}.`,
      `Résumé des changements : ${str(d.summary)}`, "Acceptez-la avant cette date (POST /v1/me/terms/accept)."] }),
  'maintenance.announced': (d) => ({ subject: 'Maintenance programmée du service API droits CNAM',
    paragraphs: [`Une maintenance aura lieu du ${when(d.start)} au ${when(d.end)}.`, `Motif : ${str(d.reason)}`,
      "Pendant la fenêtre, les consultations répondent 503 maintenance, avec Retry-After : ce n'est jamais une décision sur les droits d'une personne."] }),
  'maintenance.changed': (d) => ({ subject: 'Maintenance programmée : horaires modifiés',
    paragraphs: [`La maintenance prévue du ${when(d.previous_start)} au ${when(d.previous_end)} aura finalement lieu du ${when(d.start)} au ${when(d.end)}.`,
      `Motif : ${str(d.reason)}`,
      "Pendant la fenêtre, les consultations répondent 503 maintenance, avec Retry-After : ce n'est jamais une décision sur les droits d'une personne."] }),
  'maintenance.cancelled': (d) => ({ subject: 'Maintenance annulée',
    paragraphs: [`La maintenance prévue du ${when(d.start)} au ${when(d.end)} est annulée${d.started ? ' : elle prend fin maintenant' : ''}.`] }),
  'disengagement.requested': (d) => ({ subject: 'Votre départ du service est enregistré',
    paragraphs: [`${str(d.partner)} a demandé à quitter le service API droits CNAM. Le départ prendra effet le ${when(d.effective_at)}.`,
      "Jusque-là, vous pouvez l'annuler (DELETE /v1/me/disengagement)."] }),
  'disengagement.reminder': (d) => ({ subject: 'Rappel : votre départ du service approche',
    paragraphs: [`Le départ de ${str(d.partner)} prendra effet le ${when(d.effective_at)}.`] }),
  'disengagement.effective': (d) => ({ subject: 'Votre départ du service a pris effet',
    paragraphs: [`${str(d.partner)} a quitté le service API droits CNAM : ses identifiants ne fonctionnent plus.`] }),
  'partner.suspended': (d) => ({ subject: 'Accès suspendu',
    paragraphs: [`L'accès de ${str(d.partner)} à l'API droits CNAM est suspendu : ses jetons ne fonctionnent plus.`, `Motif : ${str(d.reason)}`] }),
  'partner.reactivated': (d) => ({ subject: 'Accès rétabli',
    paragraphs: [`L'accès de ${str(d.partner)} à l'API droits CNAM est rétabli.`, `Motif : ${str(d.reason)}`] }),
  'partner.revoked': (d) => ({ subject: 'Accès révoqué',
    paragraphs: [`L'accès de ${str(d.partner)} à l'API droits CNAM est révoqué définitivement.`, `Motif : ${str(d.reason)}`] }),
  'credentials.expiring': (d) => ({ subject: 'Votre secret client expire bientôt',
    paragraphs: [`Le secret client de ${str(d.partner)} expire le ${when(d.expires_at)}. Demandez-en un nouveau avant cette date.`] }),
  'credentials.rotated': (d) => ({ subject: 'Nouveau secret client',
    paragraphs: [`Un nouveau secret client a été généré pour ${str(d.partner)} (identifiant ${str(d.client_id)}).`,
      `L'ancien reste valable jusqu'au ${when(d.previous_secret_valid_until)}.`] }),
  'sla.report_published': (d) => ({ subject: `Disponibilité du service : rapport de ${str(d.month)}`,
    paragraphs: [`Disponibilité mesurée en ${str(d.month)} : ${percent(d.availability)} (engagement : ${percent(d.target)}, ${d.met ? 'atteint' : 'non atteint'}).`,
      `Le rapport signé est disponible : GET /v1/me/sla/reports/${str(d.month)}.`] }),
};

/** A message in French, plain text and HTML, addressed to a partner's contact. Never any looked-up person's data. */
export function renderNotification(type: string, data: Record<string, unknown>, statusUrl?: string): Message {
  const template = TEMPLATES[type as NotificationType] ?? (() => ({ subject: 'Information du service API droits CNAM', paragraphs: [type] }));
  const { subject, paragraphs } = template(data);
  const footer = ['Ce message vous est envoyé par la DINSIC, qui opère le service API droits CNAM, parce que vous êtes contact de cet organisme.',
    ...(statusUrl ? [`État du service : ${statusUrl}`] : [])];
  const text = [`Bonjour,`, ...paragraphs, '—', ...footer].join('\n\n');
  const html = `<!doctype html><html lang="fr"><body><p>Bonjour,</p>${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('')}`
    + `<hr><p style="color:#666">${footer.map(escapeHtml).join('<br>')}</p></body></html>`;
  return { subject: `[API droits CNAM] ${subject}`, text, html };
}
