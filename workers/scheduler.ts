import { startScheduler } from '../src/editions/scheduler.ts';
import { boot } from '../src/process.ts';

const { app, onShutdown } = await boot('scheduler');
const scheduler = startScheduler(app);
onShutdown(() => scheduler.close());
