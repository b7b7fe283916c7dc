import { Content, html, Html } from '../html';

/**
 * The DSFR components the pages use, one function each, with the design system's own class names: pages compose
 * these and never repeat their markup.
 */

export type Tone = 'success' | 'error' | 'info' | 'warning' | 'new';

export function alert(tone: Exclude<Tone, 'new'>, title: Content, body?: Content): Html {
  return html`<div class="fr-alert fr-alert--${tone} fr-mb-3w" role="${tone === 'error' ? 'alert' : 'status'}">
    <h3 class="fr-alert__title">${title}</h3>${body ? html`<p>${body}</p>` : ''}</div>`;
}

export function badge(tone: Tone | 'neutral', label: Content): Html {
  return html`<p class="fr-badge fr-badge--sm${tone === 'neutral' ? '' : ` fr-badge--${tone}`} fr-badge--no-icon">${label}</p>`;
}

export interface Column<T> {
  label: string;
  cell: (row: T) => Content;
}

/** A table with its caption; an empty list shows `empty` instead of an empty table. */
export function table<T>(caption: string, columns: Column<T>[], rows: readonly T[], empty: string): Html {
  if (rows.length === 0) return html`<p class="fr-text--lg fr-mb-3w">${empty}</p>`;
  return html`<div class="fr-table fr-table--no-caption-hidden"><table>
    <caption>${caption}</caption>
    <thead><tr>${columns.map((c) => html`<th scope="col">${c.label}</th>`)}</tr></thead>
    <tbody>${rows.map((row) => html`<tr>${columns.map((c) => html`<td>${c.cell(row)}</td>`)}</tr>`)}</tbody>
  </table></div>`;
}

/** A definition list of a record's fields. */
export function details(items: [string, Content][]): Html {
  return html`<dl class="cnam-details">${items.map(([term, value]) => html`<dt>${term}</dt><dd>${value === '' || value == null ? '—' : value}</dd>`)}</dl>`;
}

export interface Field {
  name: string;
  label: string;
  hint?: string;
  value?: string;
  error?: string;
  type?: 'text' | 'email' | 'password' | 'number' | 'date' | 'datetime-local' | 'search';
  required?: boolean;
  autocomplete?: string;
  textarea?: boolean;
}

export function input(field: Field): Html {
  const id = `field-${field.name}`;
  const described = field.error ? `${id}-error` : undefined;
  const control = field.textarea
    ? html`<textarea class="fr-input${field.error ? ' fr-input--error' : ''}" id="${id}" name="${field.name}"${field.required ? html` required` : ''}${described ? html` aria-describedby="${described}"` : ''}>${field.value ?? ''}</textarea>`
    : html`<input class="fr-input${field.error ? ' fr-input--error' : ''}" type="${field.type ?? 'text'}" id="${id}" name="${field.name}" value="${field.value ?? ''}"${field.required ? html` required` : ''}${field.autocomplete ? html` autocomplete="${field.autocomplete}"` : ''}${described ? html` aria-describedby="${described}"` : ''}>`;
  return html`<div class="fr-input-group${field.error ? ' fr-input-group--error' : ''}">
    <label class="fr-label" for="${id}">${field.label}${field.hint ? html`<span class="fr-hint-text">${field.hint}</span>` : ''}</label>
    ${control}
    ${field.error ? html`<p id="${described}" class="fr-error-text">${field.error}</p>` : ''}
  </div>`;
}

export function select(name: string, label: string, options: { value: string; label: string }[], selected?: string): Html {
  const id = `field-${name}`;
  return html`<div class="fr-select-group"><label class="fr-label" for="${id}">${label}</label>
    <select class="fr-select" id="${id}" name="${name}">${options.map((o) => html`<option value="${o.value}"${o.value === selected ? html` selected` : ''}>${o.label}</option>`)}</select></div>`;
}

export function checkboxes(name: string, legend: string, options: { value: string; label: string; checked: boolean }[], error?: string): Html {
  const legendId = `legend-${name}`;
  return html`<fieldset class="fr-fieldset${error ? ' fr-fieldset--error' : ''}" aria-labelledby="${legendId}"${error ? html` role="group"` : ''}>
    <legend class="fr-fieldset__legend" id="${legendId}">${legend}</legend>
    ${options.map((o, i) => html`<div class="fr-fieldset__element"><div class="fr-checkbox-group">
      <input type="checkbox" id="${name}-${i}" name="${name}" value="${o.value}"${o.checked ? html` checked` : ''}>
      <label class="fr-label" for="${name}-${i}">${o.label}</label></div></div>`)}
    ${error ? html`<div class="fr-messages-group"><p class="fr-message fr-message--error">${error}</p></div>` : ''}
  </fieldset>`;
}

export function button(label: Content, options: { kind?: 'primary' | 'secondary' | 'tertiary'; type?: 'submit' | 'button'; id?: string; name?: string; value?: string } = {}): Html {
  const kind = options.kind && options.kind !== 'primary' ? ` fr-btn--${options.kind}` : '';
  return html`<button class="fr-btn${kind}" type="${options.type ?? 'submit'}"${options.id ? html` id="${options.id}"` : ''}${options.name ? html` name="${options.name}" value="${options.value ?? ''}"` : ''}>${label}</button>`;
}

export function linkButton(label: Content, href: string, kind: 'primary' | 'secondary' | 'tertiary' = 'secondary'): Html {
  return html`<a class="fr-btn${kind === 'primary' ? '' : ` fr-btn--${kind}`}" href="${href}">${label}</a>`;
}

/**
 * A secret shown this once (client secret, webhook secret): the warning, what it belongs to, the secret with a copy
 * button (enabled by the console's script), and the way back.
 */
export function shownOnce(options: { warning: string; about: [string, Content][]; heading: string; id: string; secret: string;
  back: [string, string] }): Html {
  return html`${alert('warning', 'Le secret ne sera plus jamais affiché', options.warning)}
    ${details(options.about)}
    <h2>${options.heading}</h2>
    <p class="cnam-secret" id="${options.id}">${options.secret}</p>
    <ul class="fr-btns-group fr-btns-group--inline">
      <li><button class="fr-btn fr-btn--secondary" type="button" data-copy-target="${options.id}" hidden>Copier le secret</button></li>
      <li>${linkButton(options.back[0], options.back[1], 'primary')}</li>
    </ul>`;
}

/** A form that POSTs with the CSRF token; the console's only way to change anything. */
export function form(action: string, csrf: string, body: Content, label?: string): Html {
  return html`<form method="post" action="${action}"${label ? html` aria-label="${label}"` : ''}>
    <input type="hidden" name="_csrf" value="${csrf}">${body}</form>`;
}

/** Previous / next pages of a cursor-paginated list. */
export function pagination(previous: string | undefined, next: string | undefined): Html {
  if (!previous && !next) return html``;
  const link = (href: string | undefined, label: string, modifier: string) => href
    ? html`<li><a class="fr-pagination__link fr-pagination__link--${modifier} fr-pagination__link--lg-label" href="${href}">${label}</a></li>`
    : html`<li><a class="fr-pagination__link fr-pagination__link--${modifier} fr-pagination__link--lg-label" aria-disabled="true" role="link">${label}</a></li>`;
  return html`<nav role="navigation" class="fr-pagination fr-mt-3w" aria-label="Pagination">
    <ul class="fr-pagination__list">${link(previous, 'Page précédente', 'prev')}${link(next, 'Page suivante', 'next')}</ul></nav>`;
}

export const PAGE_SIZE = 50;

/** The page number asked for in `?page=` (1 when absent or not a number), and its offset. */
export function pageOf(value: string | undefined): { page: number; offset: number } {
  const page = /^\d{1,6}$/.test(value ?? '') ? Math.max(1, Number(value)) : 1;
  return { page, offset: (page - 1) * PAGE_SIZE };
}

/**
 * Previous and next links for an offset-paginated list: `rows` holds up to PAGE_SIZE + 1 rows, the extra one only
 * telling that a next page exists.
 */
export function pageLinks(base: string, page: number, rows: number, query: Record<string, string> = {}): Html {
  const link = (n: number) => `${base}?${new URLSearchParams({ ...query, page: String(n) })}`;
  return pagination(page > 1 ? link(page - 1) : undefined, rows > PAGE_SIZE ? link(page + 1) : undefined);
}
