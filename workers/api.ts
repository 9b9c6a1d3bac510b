import { buildServer } from '../src/http/server.ts';
import { boot } from '../src/process.ts';

const { app, onShutdown } = await boot('api');
const server = await buildServer(app);
await server.listen({ host: app.config.HOST, port: app.config.PORT });
onShutdown(() => server.close());
