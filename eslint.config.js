// Module boundaries are the architecture: Nx tags on two axes (scope, type) decide who may import whom.
import js from '@eslint/js';
import { createProjectGraphAsync } from '@nx/devkit';
import nx from '@nx/eslint-plugin';
import eslintConfigPrettier from 'eslint-config-prettier/flat';
import tseslint from 'typescript-eslint';

/** I/O packages that the pure layers (domain, contracts, config) must never reach for. */
const IO_PACKAGES = [
  'ioredis',
  'pg',
  'kafkajs',
  'bullmq',
  'fastify',
  '@fastify/*',
  '@bull-board/*',
  'node-pg-migrate',
  'testcontainers',
  '@testcontainers/*',
];

/** Axis 1, type: what kind of code may depend on what. */
const TYPE_RULES = [
  [
    'type:app',
    ['type:contracts', 'type:config', 'type:domain', 'type:metrics', 'type:clients', 'type:data-access', 'type:http', 'type:lifecycle'],
  ],
  ['type:contracts', ['type:contracts'], IO_PACKAGES],
  // Config reads the pure domain's defaults (the session policy) so that each is written once.
  ['type:config', ['type:contracts', 'type:domain'], IO_PACKAGES],
  ['type:domain', ['type:domain', 'type:contracts'], IO_PACKAGES],
  // Metrics (the registry and its counters, gauges and histograms) are for every service, HTTP or not.
  ['type:metrics', ['type:metrics'], IO_PACKAGES],
  ['type:clients', ['type:contracts', 'type:metrics']],
  ['type:data-access', ['type:contracts', 'type:domain', 'type:clients']],
  ['type:http', ['type:contracts', 'type:metrics']],
  // The process lifecycle of a service (runService): its config, logger, start and close-with-grace.
  ['type:lifecycle', ['type:contracts', 'type:config', 'type:clients']],
  // The system on this machine (infra/local.sh, the demo shop): for npm start, operator tools, benches and tests.
  ['type:local-stack', ['type:domain', 'type:contracts'], IO_PACKAGES],
  ['type:testing', ['type:contracts', 'type:domain', 'type:clients', 'type:local-stack']],
  // End-to-end tests drive the apps as processes over HTTP and Kafka; they import no app. They may
  // compute what a client computes with the pure domain (a recommendationId, a user's variant).
  ['type:e2e', ['type:contracts', 'type:domain', 'type:clients', 'type:data-access', 'type:testing', 'type:local-stack']],
  // Offline tools (the quality eval) run the pure domain code on files, with no service around it.
  ['type:tool', ['type:contracts', 'type:domain'], IO_PACKAGES],
  // Operator tools (npm run load, npm run simulate) drive a running system over its public APIs and
  // read its catalog; they take the datasets from the offline tools. Simulate finds the local
  // infrastructure through the local stack.
  [
    'type:operator-tool',
    ['type:contracts', 'type:domain', 'type:clients', 'type:data-access', 'type:local-stack', 'type:tool', 'type:operator-tool'],
  ],
  // Benchmarks wire the apps' exported composition in process, next to baselines of their own.
  [
    'type:bench',
    [
      'type:app',
      'type:contracts',
      'type:config',
      'type:domain',
      'type:metrics',
      'type:clients',
      'type:data-access',
      'type:http',
      'type:testing',
      'type:local-stack',
    ],
  ],
];

/** Axis 2, scope: an app's own code stays in its app; shared libraries depend only on shared ones. */
const SCOPE_RULES = [
  ['scope:shared', ['scope:shared']],
  ['scope:ingest', ['scope:ingest', 'scope:shared']],
  ['scope:speed', ['scope:speed', 'scope:shared']],
  ['scope:batch', ['scope:batch', 'scope:shared']],
  ['scope:serving', ['scope:serving', 'scope:shared']],
  ['scope:storefront', ['scope:storefront', 'scope:shared']],
  ['scope:e2e', ['scope:shared']],
  ['scope:tools', ['scope:shared', 'scope:tools']],
  ['scope:bench', ['scope:shared', 'scope:ingest', 'scope:speed', 'scope:batch', 'scope:serving']],
];

/** The boundary rule; tests may also use the testing library (builders, real-infra helpers) and the demo shop. */
const boundaries = ({ tests }) => [
  'error',
  {
    enforceBuildableLibDependency: false,
    allow: [],
    banTransitiveDependencies: true,
    checkDynamicDependenciesExceptions: [],
    depConstraints: [
      ...TYPE_RULES.map(([sourceTag, allowed, banned]) => ({
        sourceTag,
        onlyDependOnLibsWithTags: tests ? [...new Set([...allowed, 'type:testing', 'type:local-stack'])] : allowed,
        ...(banned === undefined ? {} : { bannedExternalImports: banned }),
      })),
      ...SCOPE_RULES.map(([sourceTag, allowed]) => ({ sourceTag, onlyDependOnLibsWithTags: allowed })),
    ],
  },
];

// The boundary rule silently skips itself without a cached project graph (a plain `eslint .` in a
// fresh clone); computing it here makes the rule enforce every time, whoever runs ESLint.
await createProjectGraphAsync({ exitOnError: true });

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.nx/**', '.local/**', 'reports/**', 'infra/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    languageOptions: {
      parserOptions: { ecmaVersion: 2023, sourceType: 'module' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      '@nx/enforce-module-boundaries': boundaries({ tests: false }),
    },
  },
  {
    files: ['**/*.test.ts', '**/test/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries({ tests: true }) },
  },
  {
    // Test tooling configuration may use the testing library from any project.
    files: ['**/vitest.config.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
  // Layout is prettier's (`npm run format`, checked by `npm run lint` and `npm test`): no ESLint
  // rule may disagree with it.
  eslintConfigPrettier,
);
