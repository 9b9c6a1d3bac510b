import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/platform/config.ts';
import { ROOT } from '../support/processes.ts';

/**
 * docker-compose.yml as `docker compose` reads it (there is no Docker engine here): YAML with its
 * merge keys, then `${NAME:-default}` filled in from the operator's environment.
 */
interface ComposeService {
  ports?: unknown[];
  environment?: Record<string, unknown> | string[];
}

const compose = yaml.load(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, ComposeService>;
};

/** A value with compose's interpolation done for `env`: `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}`, `$$`. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(
    /\$\$|\$(\w+)|\$\{(\w+)(?:(:?)([-?])([^}]*))?\}/g,
    (
      whole,
      bare: string | undefined,
      name: string | undefined,
      colon: string,
      operator: string | undefined,
      word: string,
    ) => {
      if (whole === '$$') return '$';
      const set = env[bare ?? name ?? ''];
      const missing = set === undefined || (colon === ':' && set === '');
      // `?` makes compose refuse to start: then nothing is trusted either, so an empty value stands for it.
      return missing ? (operator === '-' ? word : '') : set;
    },
  );
}

function environmentOf(service: ComposeService): Record<string, string> {
  const { environment = {} } = service;
  if (Array.isArray(environment))
    return Object.fromEntries(environment.map((entry) => String(entry).split(/=(.*)/s).slice(0, 2)));
  return Object.fromEntries(
    Object.entries(environment).map(([name, value]) => [name, value === null ? '' : String(value)]),
  );
}

/** TRUST_PROXY as the service reads it (src/platform/config.ts): false, a number of proxies, or their addresses. */
function trustedProxies(setting: string) {
  return loadConfig({ APP_SECRET: 'compose-test-secret-compose-test-secret', TRUST_PROXY: setting }).TRUST_PROXY;
}

describe('docker-compose.yml and proxies', () => {
  const publishing = Object.entries(compose.services).filter(([, service]) => (service.ports ?? []).length > 0);

  it('trusts no proxy by default in any service that publishes a port (clients reach it directly)', () => {
    expect(publishing.map(([name]) => name)).toContain('api');
    for (const [name, service] of publishing) {
      const setting = interpolate(environmentOf(service).TRUST_PROXY ?? '', {});
      expect(trustedProxies(setting), `${name}: TRUST_PROXY "${setting}"`).toBe(false);
    }
  });

  it('passes TRUST_PROXY on from the operator’s environment, for a deployment behind a proxy', () => {
    const api = compose.services.api!;
    expect(trustedProxies(interpolate(environmentOf(api).TRUST_PROXY ?? '', { TRUST_PROXY: '1' }))).toBe(1);
    expect(trustedProxies(interpolate(environmentOf(api).TRUST_PROXY ?? '', { TRUST_PROXY: '172.16.0.0/12' }))).toEqual(
      ['172.16.0.0/12'],
    );
  });
});
