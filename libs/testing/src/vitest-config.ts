import { defineConfig, type ViteUserConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const WORKSPACE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface TestConfigOptions {
  /** The Nx project name: names the JSON report that .ci/run counts. */
  project: string;
  /** Integration tests get the real services from the global setup and longer timeouts. */
  integration: boolean;
}

/** The one vitest configuration of every project: a JSON report per project, real services for integration. */
export function testConfig({ project, integration }: TestConfigOptions): ViteUserConfig {
  return defineConfig({
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      reporters: ['default', 'json'],
      outputFile: { json: `${WORKSPACE_ROOT}reports/vitest/${project}.json` },
      ...(integration
        ? {
            globalSetup: [fileURLToPath(new URL('./global-setup.ts', import.meta.url))],
            testTimeout: 60_000,
            hookTimeout: 120_000,
            // Test files share one Kafka broker and one machine with 2 cores: run them one at a time.
            fileParallelism: false,
          }
        : {}),
    },
  });
}
