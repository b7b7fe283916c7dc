import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROBLEM_CODES, ProblemCodeInfo } from '../common/errors/problem-codes';

export const CATALOGUE_START = '<!-- problem-codes:start — généré depuis src/common/errors/problem-codes.ts par `npm run docs:problems` : ne pas modifier à la main -->';
export const CATALOGUE_END = '<!-- problem-codes:end -->';
export const PARTNER_DOCS = join(process.cwd(), 'docs', 'partners.md');

const cell = (text: string) => text.replace(/\|/g, '\\|');

function table(rows: [string, ProblemCodeInfo][]): string {
  return ['| `code` | HTTP | relançable | signification | que faire |', '|---|---|---|---|---|',
    ...rows.map(([code, info]) => `| \`${code}\` | ${info.status.join(', ')} | ${info.retryable ? 'oui' : 'non'} | ${cell(info.meaning)} | ${cell(info.action)} |`),
  ].join('\n');
}

/** The catalogue of problem codes as docs/partners.md carries it: the partners' codes, then the operators' own. */
export function renderProblemCatalogue(): string {
  const all = Object.entries(PROBLEM_CODES) as [string, ProblemCodeInfo][];
  return [CATALOGUE_START, '', table(all.filter(([, info]) => info.audience !== 'operator')), '',
    'Codes propres à la console et aux routes des opérateurs (`/admin/api`) :', '',
    table(all.filter(([, info]) => info.audience === 'operator')), '', CATALOGUE_END].join('\n');
}

/** The catalogue section of a document, markers included; undefined when the markers are missing. */
export function catalogueSection(document: string): string | undefined {
  const start = document.indexOf(CATALOGUE_START);
  const end = document.indexOf(CATALOGUE_END);
  return start < 0 || end < start ? undefined : document.slice(start, end + CATALOGUE_END.length);
}

/** `npm run docs:problems`: rewrites the catalogue section of docs/partners.md. */
if (require.main === module) {
  const document = readFileSync(PARTNER_DOCS, 'utf8');
  const current = catalogueSection(document);
  if (current === undefined) {
    process.stderr.write(`docs/partners.md has no catalogue markers (${CATALOGUE_START} … ${CATALOGUE_END})\n`);
    process.exit(1);
  }
  writeFileSync(PARTNER_DOCS, document.replace(current, renderProblemCatalogue()));
  process.stdout.write(`docs/partners.md: ${Object.keys(PROBLEM_CODES).length} problem codes\n`);
}
