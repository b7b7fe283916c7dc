/**
 * HTML built by typed template functions: `html` escapes every interpolated value unless it is itself Html (built
 * by `html` or marked `raw` by code that produced it safely). Arrays are joined; null, undefined and false print
 * nothing. The one way the console and the status page write markup.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export type Content = Html | string | number | null | undefined | false | readonly Content[];

function render(value: Content): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Content[]): Html {
  let text = strings[0];
  for (let i = 0; i < values.length; i++) text += render(values[i]) + strings[i + 1];
  return new Html(text);
}

/** Markup produced by trusted code (an SVG built here, a library's output): never user input. */
export function raw(text: string): Html {
  return new Html(text);
}
