import { startDeliveryWorkers } from '../src/delivery/workers.ts';
import { startBounceListener } from '../src/feedback/bounce-listener.ts';
import { startScheduler } from '../src/editions/scheduler.ts';
import { buildServer } from '../src/http/server.ts';
import { boot } from '../src/process.ts';

// One machine, one process: the API, the scheduler and a delivery worker together (`npm start`).
const { app, logger, onShutdown } = await boot('all');
const server = await buildServer(app);
await server.listen({ host: app.config.HOST, port: app.config.PORT });
const workers = startDeliveryWorkers(app);
const scheduler = startScheduler(app);
// With BOUNCE_SMTP_PORT, the bounce listener too.
const bounces = await startBounceListener(app);
onShutdown(() => server.close());
onShutdown(async () => bounces?.close());
onShutdown(() => scheduler.close());
onShutdown(() => workers.close());
logger.info(`Evening Digest is running: ${app.config.PUBLIC_URL} (admin token in ADMIN_TOKEN)`);
