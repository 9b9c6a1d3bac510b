import { startBounceListener } from '../src/feedback/bounce-listener.ts';
import { boot } from '../src/process.ts';
import { EXIT, StartupError } from '../src/platform/startup.ts';

// The inbound SMTP listener for BOUNCE_ADDRESS's domain (DSNs, ARF complaints, mailto unsubscribes).
const { app, onShutdown, start } = await boot('bounces');
await start(async () => {
  const listener = await startBounceListener(app);
  if (!listener)
    throw new StartupError('BOUNCE_ADDRESS and BOUNCE_SMTP_PORT must be set for the bounce listener.', EXIT.config);
  onShutdown(() => listener.close());
});
