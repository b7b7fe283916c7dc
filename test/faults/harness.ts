import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../src/common/database/embedded-postgres';
import { watchText } from '../support/log-watch';
import { onboardPartner, partnerToken, SIRET_CCAS_LYON } from '../support/factories';
import { OPERATOR, TestApp } from '../support/test-app';

const MAIN = join(__dirname, '../../dist/src/main.js');

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  port: number;
  /** What it printed so far (stdout and stderr). */
  output(): string;
  /** Its resident memory, from /proc. */
  rssBytes(): number;
  /** Sends a signal and waits for the exit: its code, or the signal. */
  stop(signal?: NodeJS.Signals): Promise<number | string | null>;
}

/** The environment of a gateway process under test: the database, the upstream, a known secret and operator. */
export function gatewayEnv(databaseUrl: string, upstreamUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return { DATABASE_URL: databaseUrl, UPSTREAM_URL: upstreamUrl, LOG_LEVEL: 'warn', SECRET_KEY: 'cd'.repeat(32),
    BOOTSTRAP_OPERATOR_EMAIL: OPERATOR.email, BOOTSTRAP_OPERATOR_PASSWORD: OPERATOR.password, AUDIT_SEAL_INTERVAL_MS: '50',
    SLA_PROBE_INTERVAL_SECONDS: '0', ...extra };
}

/** The real gateway (the compiled dist/src/main.js, as `npm start` runs it) in a process of its own. */
export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn('node', [MAIN], { env: { PATH: process.env.PATH!, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const read = (chunk: Buffer) => {
    output += chunk;
    watchText(`gateway ${child.pid}`, chunk.toString());
  };
  child.stdout!.on('data', read);
  child.stderr!.on('data', read);
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (output.includes('Gateway ready on')) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`gateway exited (${code}):\n${output}`));
    });
  });
  return {
    child, port, url: `http://127.0.0.1:${port}`, output: () => output,
    rssBytes: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A partner with a high rate limit, and one of its tokens, onboarded through the gateway's own API. */
export async function loadPartner(url: string): Promise<string> {
  const target = { url } as TestApp;
  return partnerToken(target, await onboardPartner(target, {}, { rateLimitPerSecond: 100_000 }));
}

export interface Answer {
  status: number;
  code?: string;
  requestId?: string;
  retryAfter?: string | null;
  ms: number;
  /** The connection failed (refused, reset) instead of an answer. */
  failed?: boolean;
}

/**
 * Bounded load: `workers` clients each sending lookups one after another until stopped, every answer kept (status,
 * problem code, request id, latency). Nothing is retried: a refused connection is kept as such.
 */
export function drive(url: string, token: string, workers: number) {
  const answers: Answer[] = [];
  let running = true;
  const worker = async (n: number) => {
    for (let i = 0; running; i++) {
      const started = performance.now();
      try {
        const response = await fetch(`${url}/v1/droits/recherche`, { method: 'POST', headers: { authorization: `Bearer ${token}`,
          'content-type': 'application/json' }, body: JSON.stringify({ nir: '284057505612387', recipient: SIRET_CCAS_LYON, context: 'RSA',
          object: `dossier ${n}-${i}`, agent: `agent-${n}` }) });
        const body = await response.json() as { code?: string; request_id?: string };
        answers.push({ status: response.status, code: body.code, requestId: body.request_id ?? response.headers.get('x-request-id') ?? undefined,
          retryAfter: response.headers.get('retry-after'), ms: performance.now() - started });
      } catch {
        answers.push({ status: 0, failed: true, ms: performance.now() - started });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  const all = Array.from({ length: workers }, (_, n) => worker(n));
  return {
    answers,
    /** Answers received since `from` (an index into answers). */
    since: (from: number) => answers.slice(from),
    stop: async () => {
      running = false;
      await Promise.all(all);
      return answers;
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check` holds, polling; fails with `what` after `ms`. */
export async function eventually(what: string, check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(100);
  }
}

/** The count of each status (or code) in answers. */
export function tally(answers: Answer[], by: (a: Answer) => string | number = (a) => a.status): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) counts[by(answer)] = (counts[by(answer)] ?? 0) + 1;
  return counts;
}
