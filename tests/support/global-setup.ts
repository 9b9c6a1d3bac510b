import type { TestProject } from 'vitest/node';
import { createLogger } from '../../src/platform/logger.ts';
import { migrate } from '../../src/platform/migrations.ts';
import { onDatabase, type PostgresServer, startPostgresServer } from './postgres-server.ts';
import { type RedisServer, startRedisServer } from './redis-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    /** The throwaway cluster's `postgres` database (see createTestDatabase). */
    postgresUrl: string;
    /** A database migrated once, which createTestDatabase copies. */
    databaseTemplate: string;
  }
}

const TEMPLATE = 'digest_template';

/**
 * One throwaway redis-server and one throwaway PostgreSQL cluster for the whole run, on free ports,
 * keeping nothing on disk afterwards; in the cluster, a template database migrated once.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [redis, postgres] = await Promise.allSettled([startRedisServer(), startPostgresServer()]);
  if (redis.status === 'rejected' || postgres.status === 'rejected') {
    await stopAll([redis, postgres].flatMap((started) => (started.status === 'fulfilled' ? [started.value] : [])));
    throw redis.status === 'rejected' ? redis.reason : (postgres as PromiseRejectedResult).reason;
  }
  try {
    await createTemplate(postgres.value);
  } catch (error) {
    await stopAll([redis.value, postgres.value]);
    throw error;
  }
  project.provide('redisUrl', redis.value.url);
  project.provide('postgresUrl', postgres.value.url);
  project.provide('databaseTemplate', TEMPLATE);
  return () => stopAll([redis.value, postgres.value]);
}

/** Migrated here once; afterwards nobody may connect to it, or copying it would fail. */
async function createTemplate(postgres: PostgresServer): Promise<void> {
  await onDatabase(postgres.url, `CREATE DATABASE ${TEMPLATE}`);
  await migrate(postgres.urlOf(TEMPLATE), createLogger('test-setup', process.env.TEST_LOG_LEVEL ?? 'silent'));
  await onDatabase(postgres.url, `ALTER DATABASE ${TEMPLATE} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
}

async function stopAll(servers: Array<RedisServer | PostgresServer>): Promise<void> {
  await Promise.allSettled(servers.map((server) => server.stop()));
}
