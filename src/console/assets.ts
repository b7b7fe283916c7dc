import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../auth/access.decorators';

/** The little the DSFR does not provide: a few layout rules and the secret's copy button (no inline style or script). */
export const CONSOLE_CSS = `
.cnam-details { display: grid; grid-template-columns: minmax(10rem, max-content) 1fr; gap: .5rem 1.5rem; margin: 0 0 2rem; }
.cnam-details dt { font-weight: 700; }
.cnam-details dd { margin: 0; overflow-wrap: anywhere; }
.cnam-operator { cursor: default; }
.cnam-breadcrumb { display: flex; }
.cnam-secret { font-family: monospace; font-size: 1.125rem; overflow-wrap: anywhere; padding: 1rem; border: 2px dashed var(--border-default-grey); margin: 1rem 0; }
.cnam-chart { max-width: 100%; height: auto; }
.cnam-chart .bar-met { fill: var(--background-action-high-blue-france); }
.cnam-chart .bar-missed { fill: var(--background-flat-error); }
.cnam-chart .target { stroke: var(--text-default-error); stroke-width: 2; stroke-dasharray: 6 4; }
.cnam-chart .axis { stroke: var(--border-default-grey); }
.cnam-chart text { fill: var(--text-default-grey); font-size: 12px; }
.cnam-inline-form { display: inline; }
.cnam-qr svg { width: 220px; height: 220px; }
#recovery-codes { list-style: none; columns: 2; }
`;

export const CONSOLE_JS = `
document.querySelectorAll('[data-copy-target]').forEach(function (button) {
  button.hidden = false;
  button.addEventListener('click', function () {
    var target = document.getElementById(button.getAttribute('data-copy-target'));
    if (!target || !navigator.clipboard) return;
    navigator.clipboard.writeText(target.textContent.trim()).then(function () { button.textContent = 'Copié'; });
  });
});
`;

@ApiExcludeController()
@Controller('assets')
export class ConsoleAssetsController {
  @Get('console.css') @Public()
  @Header('content-type', 'text/css; charset=utf-8') @Header('cache-control', 'public, max-age=300')
  style() {
    return CONSOLE_CSS;
  }

  @Get('console.js') @Public()
  @Header('content-type', 'text/javascript; charset=utf-8') @Header('cache-control', 'public, max-age=300')
  script() {
    return CONSOLE_JS;
  }
}
