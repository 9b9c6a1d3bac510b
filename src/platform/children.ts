import type { ChildProcess } from 'node:child_process';

/**
 * Stops a server this process started (the local redis-server, the embedded PostgreSQL) and waits
 * until it has exited, so that nothing of it is left when this process ends: SIGTERM, then SIGKILL
 * after `graceMs`. Nothing to do when there is none or it has exited already.
 */
export async function stopChild(child: ChildProcess | undefined, graceMs = 10_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<'exited'>((resolve) => child.once('exit', () => resolve('exited')));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
  child.kill('SIGTERM');
  if ((await Promise.race([exited, late])) === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}
