import '@fastify/cookie';
import '@fastify/csrf-protection';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Operator, OperatorRole } from '../partners/operators.repository';
import { securityHeaders } from '../common/http/security-headers';
import { Content, Html } from './html';
import { layout, NavItem } from './layout';

/** Pages run no inline script or style: the DSFR's files and ours, from this origin only. */
export const PAGE_CSP = securityHeaders({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], imgSrc: ["'self'", 'data:'], fontSrc: ["'self'"],
      connectSrc: ["'self'"], formAction: ["'self'"], frameAncestors: ["'none'"], baseUri: ["'none'"], manifestSrc: ["'self'"],
    },
  },
})['content-security-policy'];

const FLASH_COOKIE = 'cnam_console_flash';

/** The console's sections, and who may open them (the same roles as the operator API's routes). */
const SECTIONS: (NavItem & { roles: OperatorRole[] })[] = [
  { href: '/console/demandes', label: "Demandes d'accès", roles: ['operator', 'admin'] },
  { href: '/console/partenaires', label: 'Partenaires', roles: ['operator', 'admin'] },
  { href: '/console/audit', label: "Journal d'accès", roles: ['auditor', 'admin'] },
  { href: '/console/disponibilite', label: 'Disponibilité', roles: ['operator', 'auditor', 'admin'] },
  { href: '/console/conditions', label: "Conditions d'utilisation", roles: ['operator', 'admin'] },
  { href: '/console/incidents', label: 'Incidents signalés', roles: ['operator', 'admin'] },
  { href: '/console/notifications', label: 'Notifications', roles: ['operator', 'admin'] },
];

export function sectionsFor(roles: readonly OperatorRole[]): NavItem[] {
  return SECTIONS.filter((section) => section.roles.some((role) => roles.includes(role)));
}

export interface PageOptions {
  title: string;
  breadcrumb?: [string, string][];
  section?: string;
  content: Content;
  status?: number;
  refreshTo?: string;
}

/** What every console page needs from its request: the operator, a CSRF token, the sandbox flag, a one-time message. */
export interface PageContext {
  operator?: Operator;
  csrf: string;
  sandbox: boolean;
  flash?: { tone: 'success' | 'error' | 'info'; text: string };
}

export function pageContext(request: FastifyRequest, reply: FastifyReply, sandbox: boolean): PageContext {
  const raw = request.cookies?.[FLASH_COOKIE];
  let flash: PageContext['flash'];
  if (raw) {
    try {
      flash = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    } catch {
      flash = undefined;
    }
    reply.clearCookie(FLASH_COOKIE, { path: '/console' });
  }
  return { operator: request.operatorPrincipal?.operator, csrf: reply.generateCsrf(), sandbox, flash };
}

export function sendPage(reply: FastifyReply, context: PageContext, page: PageOptions): FastifyReply {
  const body: Html = layout({
    title: page.title, breadcrumb: page.breadcrumb, sandbox: context.sandbox, flash: context.flash, csrf: context.csrf,
    operator: context.operator ? { email: context.operator.email, roles: context.operator.roles } : undefined,
    nav: context.operator ? sectionsFor(context.operator.roles) : undefined, current: page.section,
    home: { href: '/console', tagline: 'Console des opérateurs et des auditeurs' },
    content: page.content, refreshTo: page.refreshTo,
  });
  return reply.status(page.status ?? 200).header('content-security-policy', PAGE_CSP).header('cache-control', 'no-store')
    .type('text/html; charset=utf-8').send(body.text);
}

/** Post/redirect/get: the next page shows `text` once. */
export function redirectWithFlash(request: FastifyRequest, reply: FastifyReply, location: string, text: string,
  tone: 'success' | 'error' | 'info' = 'success'): FastifyReply {
  reply.setCookie(FLASH_COOKIE, Buffer.from(JSON.stringify({ tone, text })).toString('base64url'),
    { path: '/console', httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https', maxAge: 60 });
  return reply.redirect(location, 303);
}
