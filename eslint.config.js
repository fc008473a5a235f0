// Module boundaries are the architecture: Nx tags on two axes (scope, type) decide who may import whom.
import js from '@eslint/js';
import { createProjectGraphAsync } from '@nx/devkit';
import nx from '@nx/eslint-plugin';
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
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          banTransitiveDependencies: true,
          checkDynamicDependenciesExceptions: [],
          depConstraints: [
            // Axis 1, type: what kind of code may depend on what.
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: [
                'type:contracts',
                'type:config',
                'type:domain',
                'type:clients',
                'type:data-access',
                'type:http',
                'type:testing',
              ],
            },
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'], bannedExternalImports: IO_PACKAGES },
            { sourceTag: 'type:config', onlyDependOnLibsWithTags: ['type:contracts'], bannedExternalImports: IO_PACKAGES },
            {
              sourceTag: 'type:domain',
              onlyDependOnLibsWithTags: ['type:domain', 'type:contracts'],
              bannedExternalImports: IO_PACKAGES,
            },
            { sourceTag: 'type:clients', onlyDependOnLibsWithTags: ['type:contracts', 'type:config'] },
            {
              sourceTag: 'type:data-access',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:clients', 'type:testing'],
            },
            { sourceTag: 'type:http', onlyDependOnLibsWithTags: ['type:contracts'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:contracts', 'type:clients'] },
            // End-to-end tests drive the apps as processes over HTTP and Kafka; they import no app.
            {
              sourceTag: 'type:e2e',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:clients', 'type:data-access', 'type:testing'],
            },
            // Axis 2, scope: an app's own code stays in its app; shared libraries depend only on shared ones.
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:ingest', onlyDependOnLibsWithTags: ['scope:ingest', 'scope:shared'] },
            { sourceTag: 'scope:speed', onlyDependOnLibsWithTags: ['scope:speed', 'scope:shared'] },
            { sourceTag: 'scope:batch', onlyDependOnLibsWithTags: ['scope:batch', 'scope:shared'] },
            { sourceTag: 'scope:serving', onlyDependOnLibsWithTags: ['scope:serving', 'scope:shared'] },
            { sourceTag: 'scope:e2e', onlyDependOnLibsWithTags: ['scope:shared'] },
          ],
        },
      ],
    },
  },
  {
    // Test tooling configuration may use the testing library from any project.
    files: ['**/vitest.config.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
);
