import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync, readFileSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Client } from 'pg';

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

/** Drives one target with autocannon at fixed concurrency: the peak throughput. */
export async function drive(options: { url: string; body: string; headers: Record<string, string>; connections: number;
  seconds: number }): Promise<Load> {
  const result = await autocannon({
    url: options.url, method: 'POST', body: options.body,
    headers: { 'content-type': 'application/json', ...options.headers },
    connections: options.connections, duration: options.seconds,
  });
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

const percentile = (sorted: number[], p: number) => sorted.length === 0 ? 0
  : Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 10) / 10;

/**
 * Where an HTTP/1.1 answer at the start of `buffer` ends (Content-Length or chunked body), and its status; undefined
 * while it is incomplete.
 */
export function answerEnd(buffer: Buffer): { end: number; status: number } | undefined {
  const headEnd = buffer.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const head = buffer.toString('latin1', 0, headEnd);
  const status = Number(head.slice(9, 12));
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  if (length) {
    const end = headEnd + 4 + Number(length[1]);
    return buffer.length >= end ? { end, status } : undefined;
  }
  if (!/\r\ntransfer-encoding: *chunked/i.test(head)) throw new Error('an answer with neither Content-Length nor chunked encoding');
  let position = headEnd + 4;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', position);
    if (lineEnd < 0) return undefined;
    const size = parseInt(buffer.toString('latin1', position, lineEnd), 16);
    position = lineEnd + 2 + size + 2;
    if (buffer.length < position) return undefined;
    if (size === 0) return { end: position, status };
  }
}

/**
 * Open-loop load at a fixed rate, requests evenly spaced (those due are sent every millisecond), on up to
 * `connections` keep-alive connections, one request in flight on each. Requests are sent on time whether or not
 * earlier ones were answered (a target that falls behind has them wait for a free connection, and that wait counts:
 * no coordinated omission). The client is a few lines over raw sockets sending one prepared request: it costs the
 * shared machine about half of what a general HTTP client does, so that the load generator takes as little CPU as it
 * can from the target it measures. autocannon's own rate option is not used for this: it lets each connection send
 * as fast as it can until its quota for the second is spent, then pause, which measures bursts at full concurrency
 * rather than a steady rate.
 */
export async function pace(options: { url: string; body: string; headers: Record<string, string>; connections: number;
  seconds: number; rate: number }): Promise<Load> {
  const url = new URL(options.url);
  const body = Buffer.from(options.body);
  const request = Buffer.concat([Buffer.from(`POST ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\n`
    + Object.entries(options.headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
    + `content-length: ${body.length}\r\n\r\n`), body]);
  const total = Math.max(1, Math.round(options.rate * options.seconds));
  const interval = 1000 / options.rate;
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let sent = 0;
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const settle = () => {
    if (++done === total) finish();
  };

  interface Connection { socket: Socket; current?: number; alive: boolean }
  const connections: Connection[] = [];
  const idle: Connection[] = [];
  const waiting: number[] = [];
  const send = (connection: Connection, at: number) => {
    connection.current = at;
    connection.socket.write(request);
  };
  const open = (): Connection => {
    const connection: Connection = { socket: connect(Number(url.port), url.hostname), alive: true };
    connection.socket.setNoDelay(true);
    let buffer: Buffer = Buffer.alloc(0);
    connection.socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      let answer: { end: number; status: number } | undefined;
      while (connection.current !== undefined && (answer = answerEnd(buffer))) {
        buffer = buffer.subarray(answer.end);
        latencies.push(performance.now() - connection.current);
        if (answer.status >= 300) non2xx++;
        connection.current = undefined;
        settle();
        const next = waiting.shift();
        if (next !== undefined) send(connection, next);
        else idle.push(connection);
      }
    });
    const fail = () => {
      if (!connection.alive) return;
      connection.alive = false;
      connections.splice(connections.indexOf(connection), 1);
      if (connection.current !== undefined) {
        errors++;
        settle();
      }
      connection.socket.destroy();
      const next = waiting.shift(); // requests queued behind it go out on a new connection
      if (next !== undefined) send(open(), next);
    };
    connection.socket.on('error', fail);
    connection.socket.on('close', fail);
    connections.push(connection);
    return connection;
  };
  const dispatch = (at: number) => {
    let connection = idle.pop();
    while (connection && !connection.alive) connection = idle.pop();
    if (connection) send(connection, at);
    else if (connections.length < options.connections) send(open(), at);
    else waiting.push(at);
  };

  const started = performance.now();
  const tick = () => {
    const due = Math.min(total, Math.floor((performance.now() - started) / interval) + 1);
    for (; sent < due; sent++) dispatch(performance.now());
    if (sent < total) setTimeout(tick, 1);
  };
  tick();
  await finished;
  const elapsed = (performance.now() - started) / 1000;
  for (const connection of [...connections]) {
    connection.alive = false;
    connection.socket.destroy();
  }
  latencies.sort((a, b) => a - b);
  return { rps: Math.round(done / elapsed), p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors, non2xx };
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

/** The cumulative buckets of one unlabelled histogram in a Prometheus text scrape: [upper bound, count]. */
export function histogramBuckets(scrape: string, name: string): [number, number][] {
  const buckets: [number, number][] = [];
  const pattern = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm');
  for (const [, le, count] of scrape.matchAll(pattern)) buckets.push([le === '+Inf' ? Infinity : Number(le), Number(count)]);
  return buckets;
}

/**
 * A quantile of what was observed between two scrapes, interpolated within its bucket as Prometheus's
 * histogram_quantile() does (the last finite bound when it falls in +Inf); 0 when nothing was observed.
 */
export function quantileBetween(before: [number, number][], after: [number, number][], q: number): number {
  const counts = after.map(([le, count], i) => [le, count - (before[i]?.[1] ?? 0)] as [number, number]);
  const total = counts.at(-1)?.[1] ?? 0;
  if (total === 0) return 0;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, cumulative] of counts) {
    if (cumulative >= rank) {
      if (le === Infinity) return lower;
      return lower + (le - lower) * ((rank - below) / Math.max(1, cumulative - below));
    }
    lower = le;
    below = cumulative;
  }
  return lower;
}

/**
 * The disk's own commit latency: 8 KiB written then fdatasync'ed in a loop, as a WAL flush does, for `seconds`, in
 * `dir` (the database's file system). A durable write before each answer cannot be faster than this; its tail is
 * printed beside the gateway's.
 */
export async function probeFsync(dir: string, seconds: number): Promise<{ p50: number; p99: number; max: number }> {
  const file = join(dir, `fsync-probe-${process.pid}`);
  const fd = openSync(file, 'w');
  const page = Buffer.alloc(8192, 1);
  const latencies: number[] = [];
  try {
    for (let i = 0; i < 2048; i++) writeSync(fd, page, 0, page.length, i * page.length); // 16 MiB, like a WAL segment
    fdatasyncSync(fd);
    const end = performance.now() + seconds * 1000;
    for (let i = 0; performance.now() < end; i++) {
      const started = performance.now();
      writeSync(fd, page, 0, page.length, (i % 2048) * page.length);
      fdatasyncSync(fd);
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: percentile(latencies, 100) };
}

/**
 * Writes out everything the database holds dirty (CHECKPOINT: every changed page written and fsynced), so that a
 * measurement does not pay for the write-back of what the phase before it wrote — the audit bench's hundreds of
 * thousands of entries, the peak rounds' — which the kernel would otherwise flush in bursts of tens of megabytes
 * under the lookups' WAL flushes. Returns the milliseconds it took, or why it could not (CHECKPOINT needs a
 * superuser or the pg_checkpoint role on an external database).
 */
export async function checkpoint(databaseUrl: string): Promise<{ ms: number } | { refused: string }> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const started = performance.now();
    await client.query('CHECKPOINT');
    return { ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { refused: (error as { code?: string }).code ?? (error as Error).message };
  } finally {
    await client.end();
  }
}

// statfs(2) magic numbers of the file systems that live in memory (linux/magic.h).
const MEMORY_FILE_SYSTEMS = new Set([0x01021994 /* tmpfs */, 0x858458f6 /* ramfs */]);

/** Whether `dir` lives in memory (tmpfs, ramfs): an fsync there returns at once, nothing reaches a disk. */
export function inMemory(dir: string): boolean {
  return MEMORY_FILE_SYSTEMS.has(Number(statfsSync(dir).type));
}

/**
 * What PostgreSQL's backends running a statement starting with `statement` are doing, sampled from
 * pg_stat_activity every 10 ms until `stop` resolves: the share of samples waiting for the WAL to be flushed
 * (IO WalSync/WalWrite, or the WALWrite lock another backend holds while it flushes) and on CPU (no wait event).
 */
export async function sampleWaits(databaseUrl: string, statement: string, stop: Promise<unknown>): Promise<{ walFlush: number; cpu: number; samples: number }> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  let running = true;
  void stop.finally(() => (running = false));
  const counts = { walFlush: 0, cpu: 0, samples: 0 };
  try {
    while (running) {
      const { rows } = await client.query<{ type: string | null; event: string | null }>({
        name: 'bench_waits',
        text: `SELECT wait_event_type AS type, wait_event AS event FROM pg_stat_activity
               WHERE state = 'active' AND pid <> pg_backend_pid() AND starts_with(query, $1)`, values: [statement] });
      for (const { type, event } of rows) {
        counts.samples++;
        if (type === null) counts.cpu++;
        else if ((type === 'IO' && (event === 'WalSync' || event === 'WalWrite')) || (type === 'LWLock' && event === 'WALWrite')) counts.walFlush++;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await client.end();
  }
  const share = (n: number) => (counts.samples === 0 ? 0 : Math.round((100 * n) / counts.samples) / 100);
  return { walFlush: share(counts.walFlush), cpu: share(counts.cpu), samples: counts.samples };
}

/** The database's processes and the WAL written so far: what `databaseCpuBetween` compares. */
export interface DatabaseUsage { cpu: Map<number, { role: string; seconds: number }>; walBytes: number }

/**
 * Each of the database's processes (pg_stat_activity lists the background ones too) with the CPU seconds it has used
 * so far (/proc), by role: a client connection by its application_name, a background process by its type; and the
 * WAL position (bytes: exact at once, where pg_stat_wal lags by up to a second). The database must run on this machine.
 */
export async function databaseUsage(client: Client): Promise<DatabaseUsage> {
  const { rows: [{ processes, wal }] } = await client.query<{ processes: { pid: number; role: string }[]; wal: string }>(
    `SELECT coalesce((SELECT json_agg(json_build_object('pid', pid, 'role',
              CASE WHEN backend_type = 'client backend' THEN coalesce(nullif(application_name, ''), 'client') ELSE backend_type END))
            FROM pg_stat_activity WHERE pid <> pg_backend_pid()), '[]') AS processes,
            pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::text AS wal`);
  const cpu = new Map<number, { role: string; seconds: number }>();
  for (const { pid, role } of processes) {
    try {
      cpu.set(pid, { role, seconds: processCpuSeconds(pid) });
    } catch {
      // ended meanwhile
    }
  }
  return { cpu, walBytes: Number(wal) };
}

/**
 * CPU seconds used between two readings, summed by role: a process started meanwhile counts in full; one that ended
 * meanwhile is missing from the second reading and counts nothing (/proc keeps nothing of it).
 */
export function databaseCpuBetween(before: DatabaseUsage, after: DatabaseUsage): Map<string, number> {
  const byRole = new Map<string, number>();
  for (const [pid, { role, seconds }] of after.cpu) byRole.set(role, (byRole.get(role) ?? 0) + seconds - (before.cpu.get(pid)?.seconds ?? 0));
  return byRole;
}

const TICKS_PER_SECOND = 100; // Linux's USER_HZ

/** CPU seconds (user + system) a process (or one of its threads: `tid`, the main thread's is the pid) has used so far, from /proc. */
export function processCpuSeconds(pid: number, tid?: number): number {
  const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime and stime: fields 14 and 15 of the line
}

/** Resident memory of a process, from /proc, in bytes. */
export function processRssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

/** A load run while counting the CPU time one process spends on it: its CPU microseconds per request answered. */
export async function withCpu<T extends { rps: number }>(pid: number, seconds: number, run: () => Promise<T>): Promise<T & { cpuUs: number }> {
  const before = processCpuSeconds(pid);
  const load = await run();
  const cpu = processCpuSeconds(pid) - before;
  return { ...load, cpuUs: Math.round((cpu * 1e6) / Math.max(1, load.rps * seconds) * 10) / 10 };
}
