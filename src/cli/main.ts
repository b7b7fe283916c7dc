import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { parseArgs } from 'node:util';
import { AuditModule } from '../audit/audit.module';
import { AuditService } from '../audit/audit.service';
import { FileVerification, readSavedCheckpoint, verifyExportFile } from '../audit/verify-file';
import { AuthModule } from '../auth/auth.module';
import { CommonModule } from '../common/common.module';
import { PartnersModule } from '../partners/partners.module';
import { SigningKeys } from '../auth/signing-keys';
import { ConfigError, loadConfig } from '../common/config/config';
import { resolveDatabase } from '../common/database/resolve-database';
import { prepareDatabase } from '../database-setup';
import { DomainError, ValidationFailed } from '../common/errors/domain-errors';
import { OperatorsService } from '../partners/operators.service';
import { recompute } from '../sla/recompute';
import { SlaReports } from '../sla/sla-reports';
import { SlaModule } from '../sla/sla.module';

const USAGE = `Usage: npm run cli -- <command> [options]
  migration:run                                        apply pending database migrations
  operator:create --email E --password P [--roles operator,auditor,admin] [--name N]
                                                       add an operator (roles default: operator)
  keys:rotate                                          new token signing key; the old one stays
                                                       published until its tokens have expired
  audit:verify FILE [--public-key BASE64] [--checkpoint SAVED]...
                                                       verify an NDJSON audit export offline (chain,
                                                       seq, checkpoint signatures), and against
                                                       checkpoints saved earlier from
                                                       /v1/audit/checkpoints/latest; exit 1 if it fails
                                                       or was cut short (no end line); says up to which
                                                       seq the signatures vouch for it
  audit:purge                                          apply the retention period now
  sla:close YYYY-MM                                    freeze, sign and publish a month's availability
                                                       report (the month must be over in Paris)
  sla:recompute FILE [--report R] [--public-key B64]   recompute a month from its raw minutes (NDJSON of
                                                       /admin/api/sla/minutes); with a report, check that it
                                                       matches and that its signature holds; exit 1 if not`;

class UsageError extends Error {}

/** What a verified export's signatures do not prove, for whoever reads the CLI's answer (docs/audit.md). */
function coverageNote(result: FileVerification): string {
  if (!result.contiguous) {
    return `Note: a filtered export (one partner's entries) is not a whole chain: each of its ${result.unsigned_entries} entries is `
      + 'checked on its own, and no signature covers them. To prove them, verify the range in the database '
      + '(GET /admin/api/audit/verify) or a whole export of it.';
  }
  return `Note: the last ${result.unsigned_entries} entries come after the last checkpoint matched in this file`
    + `${result.signed_through_seq === null ? '' : ` (seq ${result.signed_through_seq})`}: they link by hash, but no signature covers them `
    + 'yet: verify them again in an export whose range ends later (a checkpoint is signed every AUDIT_CHECKPOINT_SECONDS, '
    + '60 by default).';
}

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const config = loadConfig(process.env);
  if (!command || command === 'help' || command === '--help') {
    say(USAGE);
    return;
  }
  if (!['migration:run', 'operator:create', 'keys:rotate', 'audit:verify', 'audit:purge', 'sla:close', 'sla:recompute'].includes(command)) {
    throw new UsageError(`Unknown command: ${command}`);
  }
  const { values, positionals } = parseArgs({ args: rest, strict: true,
    allowPositionals: ['audit:verify', 'sla:close', 'sla:recompute'].includes(command), options: {
    email: { type: 'string' }, password: { type: 'string' }, roles: { type: 'string' }, name: { type: 'string' },
    'public-key': { type: 'string' }, checkpoint: { type: 'string', multiple: true }, report: { type: 'string' } } });
  if (command === 'sla:recompute') {
    if (positionals.length !== 1) throw new UsageError('sla:recompute needs the path of a minutes export (NDJSON)');
    let result;
    try {
      result = await recompute(positionals[0], values.report, values['public-key']);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    say(JSON.stringify(result));
    if (result.matches === false || result.signature_valid === false) process.exitCode = 1;
    return;
  }
  if (command === 'sla:close' && (positionals.length !== 1 || !/^\d{4}-\d{2}$/.test(positionals[0]))) {
    throw new UsageError('sla:close needs a month, YYYY-MM');
  }
  if (command === 'audit:verify') {
    if (positionals.length !== 1) throw new UsageError('audit:verify needs the path of an NDJSON export');
    let saved;
    try {
      saved = (values.checkpoint ?? []).map(readSavedCheckpoint);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const result = await verifyExportFile(positionals[0], values['public-key'], saved);
    say(JSON.stringify(result));
    if (!result.ok) process.exitCode = 1;
    else {
      if (result.unsigned_entries) process.stderr.write(`${coverageNote(result)}\n`);
      if (result.complete === null) {
        process.stderr.write('Note: this export was made before exports ended with a line counting their records: '
          + 'a file cut short between two lines cannot be told from a whole one (export the range again to be sure).\n');
      }
    }
    return;
  }
  if (command === 'operator:create' && (!values.email || !values.password)) {
    throw new UsageError('operator:create needs --email and --password');
  }

  const database = await resolveDatabase(config, say);
  try {
    const { appUrl, applied } = await prepareDatabase(config, database.url);
    if (command === 'migration:run') {
      say(applied.length ? `Applied: ${applied.join(', ')}` : 'The schema is up to date.');
      return;
    }
    const common = CommonModule.forRoot({ config: { ...config, databaseUrl: database.url, databaseAppUrl: appUrl } });
    // Only the modules the command needs: creating an operator must not depend on the token signing keys.
    const modules = command === 'keys:rotate' ? [common, AuthModule] : command === 'audit:purge' ? [common, AuditModule]
      : command === 'sla:close' ? [common, SlaModule] : [common, PartnersModule];
    const app = await NestFactory.createApplicationContext({ module: class CliModule {}, imports: modules },
      { logger: ['error'] });
    try {
      if (command === 'operator:create') {
        const operator = await app.get(OperatorsService).create({ email: values.email!, password: values.password!,
          roles: (values.roles ?? 'operator').split(',').map((r) => r.trim()), displayName: values.name });
        say(`Operator ${operator.email} created with roles ${operator.roles.join(', ')} (id ${operator.id}).`);
      } else if (command === 'sla:close') {
        const { report, closedNow } = await app.get(SlaReports).close(positionals[0]);
        say(`${report.month}: availability ${report.availability ?? 'n/a'} (target ${report.target}, ${report.met ? 'met' : 'not met'}), `
          + `${closedNow ? 'frozen and signed now; partners notified' : `already frozen at ${report.frozen_at}`}.`);
      } else if (command === 'audit:purge') {
        const removed = await app.get(AuditService).purgeExpired();
        say(removed === null
          ? 'Nothing purged: the trail is being read (a verification or an export); try again when it ends.'
          : `${removed} audit entries purged (whole sealed segments past the retention period).`);
      } else {
        const kid = await app.get(SigningKeys).rotate();
        say(`New signing key ${kid} is active; previous keys stay in the JWKS until their tokens expire.`);
      }
    } finally {
      await app.close();
    }
  } finally {
    await database.stop();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ValidationFailed) {
    process.stderr.write(`Refused: ${error.errors.map((e) => `${e.field} ${e.reason}`).join('; ')}\n`);
    process.exit(2);
  }
  if (error instanceof UsageError || error instanceof ConfigError || error instanceof DomainError
    || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(`Failed: ${(error as Error).message}\n`);
  process.exit(1);
});
