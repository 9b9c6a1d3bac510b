import { startDeliveryWorkers } from '../src/delivery/workers.ts';
import { boot } from '../src/process.ts';

const { app, onShutdown, start } = await boot('worker');
await start(async () => {
  const workers = startDeliveryWorkers(app);
  onShutdown(() => workers.close());
});
