import { ChildProcess, spawn } from 'node:child_process';
import autocannon from 'autocannon';

export interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** Starts a node process and resolves once it prints a line matching `ready`. */
export function startProcess(script: string, env: Record<string, string>, ready: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`${script} exited with ${code}:\n${output}`)));
  });
}

/** Drives one target with autocannon at fixed concurrency (or a fixed overall rate). */
export async function drive(options: { url: string; body: string; headers: Record<string, string>; connections: number;
  seconds: number; overallRate?: number }): Promise<Load> {
  const result = await autocannon({
    url: options.url, method: 'POST', body: options.body,
    headers: { 'content-type': 'application/json', ...options.headers },
    connections: options.connections, duration: options.seconds, overallRate: options.overallRate,
  });
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

export function table(rows: Record<string, Load>): string {
  const lines = ['target               req/s     p50 ms   p99 ms   errors  non-2xx'];
  for (const [name, load] of Object.entries(rows)) {
    lines.push(`${name.padEnd(20)} ${String(load.rps).padStart(6)} ${String(load.p50).padStart(9)} ${String(load.p99).padStart(8)} `
      + `${String(load.errors).padStart(8)} ${String(load.non2xx).padStart(8)}`);
  }
  return lines.join('\n');
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
