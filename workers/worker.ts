import { startDeliveryWorkers } from '../src/delivery/workers.ts';
import { boot } from '../src/process.ts';

const { app, onShutdown } = await boot('worker');
const workers = startDeliveryWorkers(app);
onShutdown(() => workers.close());
