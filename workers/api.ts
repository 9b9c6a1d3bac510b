import { buildServer, listenOnPort } from '../src/http/server.ts';
import { boot } from '../src/process.ts';

const { app, onShutdown, start } = await boot('api');
await start(async () => {
  const server = await buildServer(app);
  onShutdown(() => server.close());
  await listenOnPort(server, app.config);
});
