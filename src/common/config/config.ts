import 'reflect-metadata';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsEmail, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, validateSync,
} from 'class-validator';

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;

/**
 * Every environment variable the gateway reads, with its default. Parsed and validated once at boot:
 * nothing else in the code reads process.env.
 */
export class EnvironmentVariables {
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PORT = 3000;

  @IsOptional() @IsString() @MinLength(1)
  HOST = '127.0.0.1';

  @IsOptional() @Matches(/^postgres(ql)?:\/\/.+/, { message: 'must be a postgres:// URL' })
  DATABASE_URL?: string;

  @IsOptional() @Matches(/^postgres(ql)?:\/\/.+/, { message: 'must be a postgres:// URL' })
  DATABASE_APP_URL?: string;

  @IsOptional() @IsString() @MinLength(1)
  DATA_DIR = './.data';

  @IsOptional() @Matches(/^https?:\/\/.+/, { message: 'must be an http(s):// URL' })
  UPSTREAM_URL?: string;

  @IsOptional() @IsEmail()
  BOOTSTRAP_OPERATOR_EMAIL?: string;

  @IsOptional() @Matches(/^https?:\/\/.+/, { message: 'must be an http(s):// URL (the OpenID provider, e.g. ProConnect)' })
  OIDC_ISSUER?: string;

  @IsOptional() @IsString() @MinLength(1)
  OIDC_CLIENT_ID?: string;

  @IsOptional() @IsString() @MinLength(1)
  OIDC_CLIENT_SECRET?: string;

  @IsOptional() @Matches(/^smtps?:\/\/.+/, { message: 'must be an smtp:// or smtps:// URL' })
  SMTP_URL?: string;

  @IsOptional() @IsString() @MinLength(3)
  NOTIFY_FROM = 'API droits CNAM <ne-pas-repondre@api-droits-cnam.localhost>';

  @IsOptional() @Matches(/^https?:\/\/[^/]+$/, { message: 'must be the gateway\'s public origin, e.g. https://api-droits.example.gouv.fr' })
  PUBLIC_URL?: string;

  @IsOptional() @IsString() @MinLength(12, { message: 'must be at least 12 characters' })
  BOOTSTRAP_OPERATOR_PASSWORD?: string;

  @IsOptional() @Matches(/^(base64:[A-Za-z0-9+/=]{43,}|[0-9a-fA-F]{64,})$/, {
    message: 'must be 32 bytes or more, as 64+ hex digits or base64:…',
  })
  SECRET_KEY?: string;

  @IsOptional() @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  @IsOptional() @IsString() @MinLength(1)
  TOKEN_ISSUER = 'api-droits-cnam-gateway';

  @IsOptional() @IsString() @MinLength(1)
  TOKEN_AUDIENCE = 'api-droits-cnam';

  @IsOptional() @Transform(toInt) @IsInt() @Min(60) @Max(3600)
  TOKEN_TTL_SECONDS = 600;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100000)
  TOKEN_RATE_LIMIT_PER_MINUTE = 60;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(30 * 86400)
  CREDENTIAL_GRACE_SECONDS = 86400;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3650)
  CREDENTIAL_EXPIRY_DAYS = 365;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(5)
  PARTNER_CACHE_SECONDS = 2;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100000)
  DEFAULT_RATE_LIMIT_PER_SECOND = 50;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1024) @Max(10 * 1024 * 1024)
  BODY_LIMIT_BYTES = 64 * 1024;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(72)
  OPERATOR_SESSION_HOURS = 8;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(200)
  DB_POOL_SIZE = 10;

  @IsOptional() @Transform(toInt) @IsInt() @Min(50) @Max(60_000)
  UPSTREAM_TIMEOUT_MS = 2000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1024)
  UPSTREAM_CONNECTIONS = 64;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100)
  BREAKER_ERROR_PERCENTAGE = 50;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100_000)
  BREAKER_VOLUME_THRESHOLD = 20;

  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  BREAKER_RESET_MS = 10_000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1000) @Max(600_000)
  BREAKER_WINDOW_MS = 10_000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(60_000)
  AUDIT_SEAL_INTERVAL_MS = 50;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(10_000_000)
  AUDIT_CHECKPOINT_EVERY = 1000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(86_400)
  AUDIT_CHECKPOINT_SECONDS = 60;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1200)
  AUDIT_RETENTION_MONTHS = 36;

  /** The whole trail is verified once per this many hours (counted from midnight UTC), across all instances; 0: none. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(24 * 31)
  AUDIT_VERIFY_EVERY_HOURS = 24;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(3600)
  SLA_PROBE_INTERVAL_SECONDS = 30;

  @IsOptional() @Matches(/^\d{13}\d{2}$/, { message: 'must be a 15-digit NIR (one the upstream does not know)' })
  SLA_PROBE_NIR = '299011305520042';

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(60)
  SLA_FLUSH_SECONDS = 5;

  @IsOptional() @Matches(/^[0-9A-Fa-f.:/]+(\s*,\s*[0-9A-Fa-f.:/]+)*$/, { message: 'must be a comma-separated list of IP addresses or CIDR ranges' })
  TRUSTED_PROXIES?: string;

  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  HTTP_REQUEST_TIMEOUT_MS = 15_000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  HTTP_KEEP_ALIVE_TIMEOUT_MS = 30_000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000)
  HTTP_MAX_CONNECTIONS = 4096;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1000) @Max(600_000)
  SHUTDOWN_TIMEOUT_MS = 25_000;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100_000)
  ACCESS_REQUESTS_PER_HOUR = 20;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100_000)
  LOGIN_FAILURES_PER_MINUTE = 10;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100_000)
  LOGIN_FAILURES_PER_ADDRESS_PER_MINUTE = 30;

  @IsOptional() @IsIn(['true', 'false'], { message: 'must be true or false' })
  SANDBOX = 'false';

  @IsOptional() @IsIn(['true', 'false'], { message: 'must be true or false' })
  SANDBOX_UPSTREAM_OK = 'false';

  @IsOptional() @IsIn(['true', 'false'], { message: 'must be true or false' })
  OPERATOR_MFA_REQUIRED = 'false';

  @IsOptional() @IsIn(['true', 'false'], { message: 'must be true or false' })
  WEBHOOK_ALLOW_PRIVATE = 'false';

  @IsOptional() @IsIn(['local', 'redis'], { message: 'must be local or redis' })
  RATE_LIMIT_POLICY = 'local';

  @IsOptional() @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// or rediss:// URL' })
  RATE_LIMIT_REDIS_URL?: string;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  RATE_LIMIT_INSTANCES = 1;

  @IsOptional() @IsString() @MinLength(1)
  WEBHOOK_CA_FILE?: string;
}

export interface AppConfig {
  port: number;
  host: string;
  /** The owner's connection (migrations, role set-up); DATABASE_URL, or the embedded database's. */
  databaseUrl?: string;
  /** The application's connection (a login role with gateway_app's grants only); DATABASE_APP_URL or set up at start. */
  databaseAppUrl?: string;
  dataDir: string;
  upstream: { url: string; timeoutMs: number; connections: number };
  breaker: { errorPercentage: number; volumeThreshold: number; resetMs: number; windowMs: number };
  audit: { sealIntervalMs: number; checkpointEvery: number; checkpointSeconds: number; retentionMonths: number; verifyEveryHours: number };
  bootstrapOperator: { email?: string; password?: string };
  secretKey?: Buffer;
  logLevel: string;
  token: { issuer: string; audience: string; ttlSeconds: number; rateLimitPerMinute: number };
  credentialGraceSeconds: number;
  /** A client secret's lifetime; warnings go out 90, 30 and 7 days ahead. */
  credentialExpiryDays: number;
  partnerCacheSeconds: number;
  defaultRateLimitPerSecond: number;
  bodyLimitBytes: number;
  operatorSessionHours: number;
  dbPoolSize: number;
  sla: { probeIntervalSeconds: number; probeNir: string; flushSeconds: number };
  http: { trustedProxies: string[]; requestTimeoutMs: number; keepAliveTimeoutMs: number; maxConnections: number };
  /** How long a graceful stop (SIGTERM) may take before the process exits by itself. */
  shutdownTimeoutMs: number;
  limits: { accessRequestsPerHour: number; loginFailuresPerMinute: number; loginFailuresPerAddressPerMinute: number };
  /** A test environment (DESIGN §8): the console and every answer say so. */
  sandbox: boolean;
  /** SANDBOX_UPSTREAM_OK: a sandbox may run against an upstream that is not the bundled simulator. */
  sandboxUpstreamOk: boolean;
  /** Every operator must enrol a TOTP second factor before anything else (production). */
  operatorMfaRequired: boolean;
  /** Console single sign-on (ProConnect in production), when configured. */
  oidc?: { issuer: string; clientId: string; clientSecret: string };
  /** Partners' notifications: SMTP when set, else .eml files under DATA_DIR/outbox. */
  notifications: { smtpUrl?: string; from: string; statusUrl?: string };
  /**
   * Partners' webhooks (DESIGN §3.6): private and loopback addresses only with WEBHOOK_ALLOW_PRIVATE (tests); extra
   * trust anchors for receivers' certificates (WEBHOOK_CA_FILE, a PEM bundle: e.g. the State's own PKI), added to
   * Node's usual ones.
   */
  webhooks: { allowPrivate: boolean; caFile?: string };
  /**
   * Partners' lookups per second: counted by each instance (local), or in Redis, shared by every instance (redis). If
   * Redis cannot be reached, each instance falls back to its own count of the limit divided by `instances`.
   */
  rateLimit: { policy: 'local' | 'redis'; redisUrl?: string; instances: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/** Parses the environment into a typed configuration, or throws a ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const known = Object.keys(new EnvironmentVariables());
  const plain: Record<string, string> = {};
  for (const name of [...known, 'DATABASE_URL', 'DATABASE_APP_URL', 'UPSTREAM_URL', 'BOOTSTRAP_OPERATOR_EMAIL',
    'BOOTSTRAP_OPERATOR_PASSWORD', 'SECRET_KEY', 'TRUSTED_PROXIES', 'OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'SMTP_URL',
    'PUBLIC_URL', 'WEBHOOK_CA_FILE', 'RATE_LIMIT_REDIS_URL']) {
    const value = env[name];
    if (value !== undefined && value !== '') plain[name] = value;
  }
  const parsed = plainToInstance(EnvironmentVariables, plain);
  const errors = validateSync(parsed, { whitelist: true });
  const problems = errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
  const oidc = [parsed.OIDC_ISSUER, parsed.OIDC_CLIENT_ID, parsed.OIDC_CLIENT_SECRET];
  if (oidc.some(Boolean) && !oidc.every(Boolean)) problems.push('OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET: set all three, or none');
  if (parsed.RATE_LIMIT_POLICY === 'redis' && !parsed.RATE_LIMIT_REDIS_URL) problems.push('RATE_LIMIT_REDIS_URL: required with RATE_LIMIT_POLICY=redis');
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port: parsed.PORT,
    host: parsed.HOST,
    databaseUrl: parsed.DATABASE_URL,
    databaseAppUrl: parsed.DATABASE_APP_URL,
    dataDir: parsed.DATA_DIR,
    // Unset: main.ts starts the bundled simulator and puts its URL here.
    upstream: { url: parsed.UPSTREAM_URL ?? '', timeoutMs: parsed.UPSTREAM_TIMEOUT_MS, connections: parsed.UPSTREAM_CONNECTIONS },
    breaker: { errorPercentage: parsed.BREAKER_ERROR_PERCENTAGE, volumeThreshold: parsed.BREAKER_VOLUME_THRESHOLD,
      resetMs: parsed.BREAKER_RESET_MS, windowMs: parsed.BREAKER_WINDOW_MS },
    audit: { sealIntervalMs: parsed.AUDIT_SEAL_INTERVAL_MS, checkpointEvery: parsed.AUDIT_CHECKPOINT_EVERY,
      checkpointSeconds: parsed.AUDIT_CHECKPOINT_SECONDS, retentionMonths: parsed.AUDIT_RETENTION_MONTHS,
      verifyEveryHours: parsed.AUDIT_VERIFY_EVERY_HOURS },
    bootstrapOperator: { email: parsed.BOOTSTRAP_OPERATOR_EMAIL, password: parsed.BOOTSTRAP_OPERATOR_PASSWORD },
    secretKey: parsed.SECRET_KEY ? decodeSecret(parsed.SECRET_KEY) : undefined,
    logLevel: parsed.LOG_LEVEL,
    token: {
      issuer: parsed.TOKEN_ISSUER,
      audience: parsed.TOKEN_AUDIENCE,
      ttlSeconds: parsed.TOKEN_TTL_SECONDS,
      rateLimitPerMinute: parsed.TOKEN_RATE_LIMIT_PER_MINUTE,
    },
    credentialGraceSeconds: parsed.CREDENTIAL_GRACE_SECONDS,
    credentialExpiryDays: parsed.CREDENTIAL_EXPIRY_DAYS,
    partnerCacheSeconds: parsed.PARTNER_CACHE_SECONDS,
    defaultRateLimitPerSecond: parsed.DEFAULT_RATE_LIMIT_PER_SECOND,
    bodyLimitBytes: parsed.BODY_LIMIT_BYTES,
    operatorSessionHours: parsed.OPERATOR_SESSION_HOURS,
    dbPoolSize: parsed.DB_POOL_SIZE,
    sla: { probeIntervalSeconds: parsed.SLA_PROBE_INTERVAL_SECONDS, probeNir: parsed.SLA_PROBE_NIR, flushSeconds: parsed.SLA_FLUSH_SECONDS },
    http: { trustedProxies: parsed.TRUSTED_PROXIES ? parsed.TRUSTED_PROXIES.split(',').map((p) => p.trim()) : [],
      requestTimeoutMs: parsed.HTTP_REQUEST_TIMEOUT_MS, keepAliveTimeoutMs: parsed.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxConnections: parsed.HTTP_MAX_CONNECTIONS },
    shutdownTimeoutMs: parsed.SHUTDOWN_TIMEOUT_MS,
    limits: { accessRequestsPerHour: parsed.ACCESS_REQUESTS_PER_HOUR, loginFailuresPerMinute: parsed.LOGIN_FAILURES_PER_MINUTE,
      loginFailuresPerAddressPerMinute: parsed.LOGIN_FAILURES_PER_ADDRESS_PER_MINUTE },
    sandbox: parsed.SANDBOX === 'true',
    sandboxUpstreamOk: parsed.SANDBOX_UPSTREAM_OK === 'true',
    operatorMfaRequired: parsed.OPERATOR_MFA_REQUIRED === 'true',
    notifications: { smtpUrl: parsed.SMTP_URL, from: parsed.NOTIFY_FROM, statusUrl: parsed.PUBLIC_URL ? `${parsed.PUBLIC_URL}/status` : undefined },
    webhooks: { allowPrivate: parsed.WEBHOOK_ALLOW_PRIVATE === 'true', caFile: parsed.WEBHOOK_CA_FILE },
    rateLimit: { policy: parsed.RATE_LIMIT_POLICY as 'local' | 'redis', redisUrl: parsed.RATE_LIMIT_REDIS_URL, instances: parsed.RATE_LIMIT_INSTANCES },
    oidc: parsed.OIDC_ISSUER ? { issuer: parsed.OIDC_ISSUER, clientId: parsed.OIDC_CLIENT_ID!, clientSecret: parsed.OIDC_CLIENT_SECRET! } : undefined,
  };
}

function decodeSecret(value: string): Buffer {
  return value.startsWith('base64:') ? Buffer.from(value.slice(7), 'base64') : Buffer.from(value, 'hex');
}

export const APP_CONFIG = Symbol('APP_CONFIG');
