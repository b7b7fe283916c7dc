import { ConfigError, loadConfig } from './config';

describe('configuration', () => {
  it('gives every variable its documented default', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000, host: '127.0.0.1', dataDir: './.data', databaseUrl: undefined, upstream: { url: '', timeoutMs: 2000, connections: 64 },
      token: { ttlSeconds: 600, issuer: 'api-droits-cnam-gateway', audience: 'api-droits-cnam' }, shutdownTimeoutMs: 25_000,
      audit: { verifyEveryHours: 24 },
    });
  });

  it('parses numbers and URLs from the environment', () => {
    const config = loadConfig({ PORT: '8080', DATABASE_URL: 'postgres://u:p@db:5432/gw', TOKEN_TTL_SECONDS: '300' });
    expect(config.port).toBe(8080);
    expect(config.databaseUrl).toBe('postgres://u:p@db:5432/gw');
    expect(config.token.ttlSeconds).toBe(300);
  });

  it('refuses a bad variable with a message that names it', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL: must be a postgres:\/\/ URL/);
    expect(() => loadConfig({ TOKEN_TTL_SECONDS: '86400' })).toThrow(/TOKEN_TTL_SECONDS/);
    expect(() => loadConfig({ BOOTSTRAP_OPERATOR_PASSWORD: 'short' })).toThrow(/BOOTSTRAP_OPERATOR_PASSWORD/);
    expect(() => loadConfig({ SECRET_KEY: 'abc' })).toThrow(/SECRET_KEY/);
    expect(() => loadConfig({ SHUTDOWN_TIMEOUT_MS: '10' })).toThrow(/SHUTDOWN_TIMEOUT_MS/);
    expect(() => loadConfig({ AUDIT_VERIFY_EVERY_HOURS: '-1' })).toThrow(/AUDIT_VERIFY_EVERY_HOURS/);
    expect(() => loadConfig({ AUDIT_VERIFY_EVERY_HOURS: 'daily' })).toThrow(/AUDIT_VERIFY_EVERY_HOURS/);
    expect(loadConfig({ AUDIT_VERIFY_EVERY_HOURS: '0' }).audit.verifyEveryHours).toBe(0);
  });

  it('names every bad variable at once', () => {
    try {
      loadConfig({ PORT: '-1', LOG_LEVEL: 'loud' });
      fail('expected a ConfigError');
    } catch (error) {
      expect((error as ConfigError).problems.map((p) => p.split(':')[0]).sort()).toEqual(['LOG_LEVEL', 'PORT']);
    }
  });

  it('takes a shared rate limit only with the Redis it needs', () => {
    expect(loadConfig({}).rateLimit).toEqual({ policy: 'local', redisUrl: undefined, instances: 1 });
    expect(loadConfig({ RATE_LIMIT_POLICY: 'redis', RATE_LIMIT_REDIS_URL: 'redis://cache:6379', RATE_LIMIT_INSTANCES: '2' }).rateLimit)
      .toEqual({ policy: 'redis', redisUrl: 'redis://cache:6379', instances: 2 });
    expect(() => loadConfig({ RATE_LIMIT_POLICY: 'redis' })).toThrow(/RATE_LIMIT_REDIS_URL: required with RATE_LIMIT_POLICY=redis/);
    expect(() => loadConfig({ RATE_LIMIT_POLICY: 'memcached' })).toThrow(/RATE_LIMIT_POLICY: must be local or redis/);
    expect(() => loadConfig({ RATE_LIMIT_POLICY: 'redis', RATE_LIMIT_REDIS_URL: 'http://cache' })).toThrow(/RATE_LIMIT_REDIS_URL/);
  });

  it('decodes SECRET_KEY from hex or base64', () => {
    expect(loadConfig({ SECRET_KEY: 'ab'.repeat(32) }).secretKey?.length).toBe(32);
    expect(loadConfig({ SECRET_KEY: 'base64:' + Buffer.alloc(32, 7).toString('base64') }).secretKey).toEqual(Buffer.alloc(32, 7));
  });
});
