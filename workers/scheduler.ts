import { startScheduler } from '../src/editions/scheduler.ts';
import { boot } from '../src/process.ts';

const { app, onShutdown, start } = await boot('scheduler');
await start(async () => {
  const scheduler = startScheduler(app);
  onShutdown(() => scheduler.close());
});
