/**
 * The SMTP sink, run as its own process (forked with an IPC channel by bench/run.ts): accepts every
 * message, discards the data, and counts. The parent asks for counts over IPC:
 *   { id, cmd: 'reset' } -> { id, ok: true }
 *   { id, cmd: 'stats' } -> { id, stats: SinkStats }
 * It exits when the parent goes away.
 */
import { performance } from 'node:perf_hooks';
import { SMTPServer } from 'smtp-server';

export interface SinkStats {
  messages: number;
  bytes: number;
  rejected: number;
  /** performance.now() in the sink when the first and the last message of the window finished. */
  firstMs: number | null;
  lastMs: number | null;
  connections: number;
  /** CPU time the sink used since the last reset, in seconds. */
  cpuSeconds: number;
}

export type SinkRequest = { id: number; cmd: 'reset' | 'stats' };

let stats: SinkStats = {
  messages: 0,
  bytes: 0,
  rejected: 0,
  firstMs: null,
  lastMs: null,
  connections: 0,
  cpuSeconds: 0,
};
let cpuAtReset = process.cpuUsage();

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  banner: 'bench sink',
  onConnect(_session, callback) {
    stats.connections += 1;
    callback();
  },
  onData(stream, _session, callback) {
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    stream.on('end', () => {
      const now = performance.now();
      stats.messages += 1;
      stats.bytes += bytes;
      stats.firstMs ??= now;
      stats.lastMs = now;
      callback(null, 'Ok: discarded');
    });
    stream.on('error', () => {
      stats.rejected += 1;
    });
  },
});

server.on('error', (error) => process.stderr.write(`[sink] ${error.message}\n`));

server.listen(0, '127.0.0.1', () => {
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.send?.({ ready: true, port });
});

process.on('message', (message: SinkRequest) => {
  if (message.cmd === 'reset') {
    stats = { messages: 0, bytes: 0, rejected: 0, firstMs: null, lastMs: null, connections: 0, cpuSeconds: 0 };
    cpuAtReset = process.cpuUsage();
    process.send?.({ id: message.id, ok: true });
  } else if (message.cmd === 'stats') {
    const cpu = process.cpuUsage(cpuAtReset);
    process.send?.({ id: message.id, stats: { ...stats, cpuSeconds: (cpu.user + cpu.system) / 1e6 } });
  }
});

process.on('disconnect', () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
process.on('SIGTERM', () => process.exit(0));
