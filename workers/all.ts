import { startDeliveryWorkers } from '../src/delivery/workers.ts';
import { startBounceListener } from '../src/feedback/bounce-listener.ts';
import { startScheduler } from '../src/editions/scheduler.ts';
import { buildServer, listenOnPort } from '../src/http/server.ts';
import { boot } from '../src/process.ts';

// One machine, one process: the API, the scheduler and a delivery worker together (`npm start`).
const { app, logger, onShutdown, start } = await boot('all');
await start(async () => {
  const server = await buildServer(app);
  onShutdown(() => server.close());
  await listenOnPort(server, app.config);
  const workers = startDeliveryWorkers(app);
  const scheduler = startScheduler(app);
  onShutdown(() => scheduler.close());
  onShutdown(() => workers.close());
  // With BOUNCE_SMTP_PORT, the bounce listener too.
  const bounces = await startBounceListener(app);
  onShutdown(async () => bounces?.close());
});
logger.info(`Evening Digest is running: ${app.config.PUBLIC_URL} (admin token in ADMIN_TOKEN)`);
