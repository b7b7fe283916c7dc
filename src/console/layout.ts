import { Content, html, Html } from './html';

const ROLE_LABELS: Record<string, string> = { operator: 'opérateur', auditor: 'auditeur', admin: 'administrateur' };

export interface NavItem {
  href: string;
  label: string;
}

export interface LayoutView {
  title: string;
  /** Where the page sits: [label, href] pairs, the last one the page itself. */
  breadcrumb?: [string, string][];
  /** The logged-in operator, when there is one: header tools and navigation. */
  operator?: { email: string; roles: readonly string[] };
  nav?: NavItem[];
  current?: string;
  sandbox: boolean;
  flash?: { tone: 'success' | 'error' | 'info'; text: string };
  csrf?: string;
  /** The service's home: the console, or the public status page. */
  home: { href: string; tagline: string };
  content: Content;
  /** Navigate there at once (a same-site navigation: after a single sign-on, so that the session cookie is sent). */
  refreshTo?: string;
}

/**
 * The one base layout of the console and the status page (DSFR): skip links, header with the service name and the
 * operator, navigation, breadcrumb, `<main id="content">`, footer, the DSFR's own script. No inline script or style:
 * the CSP forbids them.
 */
export function layout(view: LayoutView): Html {
  const trail = view.breadcrumb ?? [];
  return html`<!doctype html>
<html lang="fr" data-fr-scheme="light">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1, shrink-to-fit=no">
  <meta name="format-detection" content="telephone=no">
  <title>${view.title} — API droits CNAM</title>
  ${view.refreshTo ? html`<meta http-equiv="refresh" content="0;url=${view.refreshTo}">` : ''}
  <link rel="stylesheet" href="/assets/dsfr/dsfr.min.css">
  <link rel="stylesheet" href="/assets/dsfr/utility/icons/icons.min.css">
  <link rel="stylesheet" href="/assets/console.css">
  <link rel="icon" href="/assets/dsfr/favicon/favicon.svg" type="image/svg+xml">
</head>
<body>
  <div class="fr-skiplinks">
    <nav class="fr-container" role="navigation" aria-label="Accès rapide">
      <ul class="fr-skiplinks__list">
        <li><a class="fr-link" href="#content">Contenu</a></li>
        ${view.nav ? html`<li><a class="fr-link" href="#navigation">Menu</a></li>` : ''}
        <li><a class="fr-link" href="#footer">Pied de page</a></li>
      </ul>
    </nav>
  </div>
  <header role="banner" class="fr-header">
    <div class="fr-header__body">
      <div class="fr-container">
        <div class="fr-header__body-row">
          <div class="fr-header__brand fr-enlarge-link">
            <div class="fr-header__brand-top">
              <div class="fr-header__logo"><p class="fr-logo">République<br>Française</p></div>
            </div>
            <div class="fr-header__service">
              <a href="${view.home.href}" title="Accueil — API droits CNAM"><p class="fr-header__service-title">API droits CNAM</p></a>
              <p class="fr-header__service-tagline">${view.home.tagline}</p>
            </div>
          </div>
          <div class="fr-header__tools">
            <div class="fr-header__tools-links">
              <ul class="fr-btns-group">
                ${view.operator && view.csrf ? html`
                <li><a class="fr-btn fr-icon-lock-line" href="/console/securite">Sécurité du compte</a></li>
                <li><p class="fr-btn fr-icon-account-circle-line cnam-operator">${view.operator.email} (${view.operator.roles.map((role) => ROLE_LABELS[role] ?? role).join(', ')})</p></li>
                <li><form method="post" action="/console/deconnexion"><input type="hidden" name="_csrf" value="${view.csrf}">
                  <button class="fr-btn fr-icon-logout-box-r-line" type="submit">Se déconnecter</button></form></li>` : html`
                <li><a class="fr-btn fr-icon-pulse-line" href="/status">État du service</a></li>`}
              </ul>
            </div>
          </div>
        </div>
      </div>
    </div>
    ${view.nav ? html`
    <div class="fr-header__menu cnam-menu" id="navigation">
      <div class="fr-container">
        <nav class="fr-nav" role="navigation" aria-label="Menu principal">
          <ul class="fr-nav__list">
            ${view.nav.map((item) => html`<li class="fr-nav__item"><a class="fr-nav__link" href="${item.href}"${item.href === view.current ? html` aria-current="page"` : ''}>${item.label}</a></li>`)}
          </ul>
        </nav>
      </div>
    </div>` : ''}
  </header>
  ${view.sandbox ? html`<div class="fr-notice fr-notice--info"><div class="fr-container"><div class="fr-notice__body">
    <p class="fr-notice__title">Bac à sable : environnement de test, données fictives. Les demandes d'accès y sont approuvées d'office.</p>
  </div></div></div>` : ''}
  <main id="content" role="main" class="fr-container fr-pb-8w">
    ${trail.length > 0 ? html`<nav role="navigation" class="fr-breadcrumb fr-mt-2w fr-mb-3w" aria-label="vous êtes ici :">
      <ol class="fr-breadcrumb__list cnam-breadcrumb">
        ${trail.map(([label, href], i) => i === trail.length - 1
          ? html`<li><a class="fr-breadcrumb__link" aria-current="page">${label}</a></li>`
          : html`<li><a class="fr-breadcrumb__link" href="${href}">${label}</a></li>`)}
      </ol></nav>` : html`<div class="fr-mt-4w"></div>`}
    ${view.flash ? html`<div class="fr-alert fr-alert--${view.flash.tone} fr-alert--sm fr-mb-3w" role="status"><p>${view.flash.text}</p></div>` : ''}
    ${view.content}
  </main>
  <footer class="fr-footer" role="contentinfo" id="footer">
    <div class="fr-container">
      <div class="fr-footer__body">
        <div class="fr-footer__brand fr-enlarge-link">
          <a href="${view.home.href}" title="Retour à l'accueil"><p class="fr-logo">République<br>Française</p></a>
        </div>
        <div class="fr-footer__content">
          <p class="fr-footer__content-desc">API droits CNAM : les administrations partenaires vérifient les droits à l'assurance maladie
            d'une personne sans lui demander de justificatif. Service opéré par la DINSIC.</p>
        </div>
      </div>
      <div class="fr-footer__bottom">
        <ul class="fr-footer__bottom-list">
          <li class="fr-footer__bottom-item"><a class="fr-footer__bottom-link" href="/status">État du service</a></li>
          <li class="fr-footer__bottom-item"><a class="fr-footer__bottom-link" href="/docs">Documentation de l'API</a></li>
          <li class="fr-footer__bottom-item"><a class="fr-footer__bottom-link" href="/v1/open-data/usage.csv">Données ouvertes</a></li>
        </ul>
      </div>
    </div>
  </footer>
  <script type="module" src="/assets/dsfr/dsfr.module.min.js"></script>
  <script nomodule src="/assets/dsfr/dsfr.nomodule.min.js"></script>
  <script src="/assets/console.js" defer></script>
</body>
</html>`;
}
