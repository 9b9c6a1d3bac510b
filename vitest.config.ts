import { defineConfig } from 'vitest/config';

/**
 * Files whose assertions are about time (a relay's pace, throughput, retries and leases running out):
 * they run one at a time after the rest, so that no other file's processes take the CPU they measure.
 */
const TIMED = [
  'tests/faults/relay-pacing.test.ts',
  'tests/faults/smtp-faults.test.ts',
  'tests/faults/worker-crash.test.ts',
  'tests/delivery/pacer-relay.test.ts',
  'tests/delivery/pacer.test.ts',
  'tests/delivery/throttling-relay.test.ts',
  'tests/delivery/send-rate.test.ts',
];

const shared = {
  globalSetup: ['tests/support/global-setup.ts'],
  testTimeout: 30_000,
  hookTimeout: 30_000,
  pool: 'forks' as const,
  env: { NODE_ENV: 'test' },
};

export default defineConfig({
  test: {
    projects: [
      // Every file starts its own processes on free ports and its own database: two at a time halve the wait on two cores.
      {
        test: {
          ...shared,
          name: 'side by side',
          include: ['tests/**/*.test.ts'],
          exclude: TIMED,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      { test: { ...shared, name: 'timed', include: TIMED, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
