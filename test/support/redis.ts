import { ChildProcess, spawn } from 'node:child_process';
import { freePort } from '../../src/common/database/embedded-postgres';

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
