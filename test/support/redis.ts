import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A free TCP port on loopback (the kernel's choice, released at once for the server that will take it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A real redis-server (Debian's package; .ci/run installs it) on a loopback port, without persistence, that a test
 * can stop and start again on the same port to play an outage.
 */
export async function startRedis() {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = () => new Promise<void>((resolve, reject) => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.on('error', (error) => reject(new Error(`redis-server could not start (${error.message}): apt-get install -y redis-server (.ci/run does it)`)));
    child.on('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output}`)));
  });
  const stop = () => new Promise<void>((resolve) => {
    if (!child || child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, stop, start };
}
