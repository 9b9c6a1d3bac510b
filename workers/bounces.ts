import { startBounceListener } from '../src/feedback/bounce-listener.ts';
import { boot } from '../src/process.ts';

// The inbound SMTP listener for BOUNCE_ADDRESS's domain (DSNs, ARF complaints, mailto unsubscribes).
const { app, logger, onShutdown } = await boot('bounces');
const listener = await startBounceListener(app);
if (!listener) {
  logger.fatal('BOUNCE_ADDRESS and BOUNCE_SMTP_PORT must be set for the bounce listener');
  process.exit(78);
}
onShutdown(() => listener.close());
