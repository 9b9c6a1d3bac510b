import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * Runs a command while a TCP listener holds a port on all addresses, and ends with its exit code:
 *
 *   node --import tsx tests/support/port-taken.ts <port> <command> [args...]
 *
 * For start-up tests whose service runs in a private network namespace (see tests/start-failures.test.ts),
 * where a listener the test process opened would not be in the service's way.
 */
const [port, command, ...args] = process.argv.slice(2);
if (!port || !command) throw new Error('usage: port-taken.ts <port> <command> [args...]');

const holder = createServer();
holder.listen(Number(port), '0.0.0.0', () => {
  const child = spawn(command, args, { stdio: 'inherit' });
  child.once('exit', (code, signal) => {
    holder.close();
    process.exit(code ?? (signal ? 128 : 1));
  });
});
