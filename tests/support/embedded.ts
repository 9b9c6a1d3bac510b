import { isRunning } from '../../src/platform/file-lock.ts';

/** Stops an embedded PostgreSQL server a test started (by its pid from DATA_DIR/postgres-server.json). */
export async function stopEmbeddedServer(pid: number): Promise<void> {
  if (!isRunning(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (isRunning(pid) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 50));
  if (isRunning(pid)) process.kill(pid, 'SIGKILL');
}
