import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../auth/access.decorators';
import { CONSOLE_CSS, CONSOLE_HTML, CONSOLE_JS } from './console.page';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Serves the operators' console. The page is public; everything it shows comes from the operator API. */
@ApiExcludeController()
@Controller('console')
export class ConsoleController {
  @Get() @Public()
  @Header('content-type', 'text/html; charset=utf-8') @Header('content-security-policy', CSP)
  @Header('x-frame-options', 'DENY') @Header('referrer-policy', 'no-referrer') @Header('cache-control', 'no-cache')
  page() {
    return CONSOLE_HTML;
  }

  @Get('console.js') @Public()
  @Header('content-type', 'text/javascript; charset=utf-8') @Header('cache-control', 'no-cache')
  script() {
    return CONSOLE_JS;
  }

  @Get('console.css') @Public()
  @Header('content-type', 'text/css; charset=utf-8') @Header('cache-control', 'no-cache')
  style() {
    return CONSOLE_CSS;
  }
}
