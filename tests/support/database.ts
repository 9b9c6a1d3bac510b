import { inject } from 'vitest';
import { databaseName, onDatabase } from './postgres-server.ts';

/**
 * A fresh database of the run's throwaway cluster, and its URL: a copy of the template migrated in
 * global setup (milliseconds), or with `migrated: false` an empty one. It lives as long as the cluster.
 */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<string> {
  const admin = inject('postgresUrl');
  const name = databaseName('t');
  const template = options.migrated === false ? 'template0' : inject('databaseTemplate');
  await onDatabase(admin, `CREATE DATABASE ${name} TEMPLATE ${template}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}
