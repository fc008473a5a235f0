import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { WORKSPACE_ROOT } from './harness.js';

/** Lints source text as if it lived at `filePath`, without writing a file. */
async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: WORKSPACE_ROOT });
  const [result] = await eslint.lintText(code, { filePath: `${WORKSPACE_ROOT}${filePath}` });
  return (result?.messages ?? []).filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
}

describe('module boundaries (lint)', () => {
  it('forbid the domain library to import an I/O package', async () => {
    for (const pkg of ['ioredis', 'pg', 'kafkajs', 'bullmq', 'fastify']) {
      const errors = await boundaryErrors('libs/domain/src/probe.ts', `import * as io from '${pkg}';\nexport const probe = io;\n`);
      expect(errors.join('\n'), pkg).toContain(`A project tagged with "type:domain" is not allowed to import "${pkg}"`);
    }
  });

  it('forbid any project to import an app', async () => {
    const fromLib = await boundaryErrors(
      'libs/stores/src/probe.ts',
      `import { buildServingApp } from '@lambdarec/serving';\nexport const probe = buildServingApp;\n`,
    );
    // Every library is used by the apps, so the rule reports the import as a cycle through the app.
    expect(fromLib.join('\n')).toMatch(/Circular dependency between "stores" and "serving"|can only depend on libs tagged with/);
    const fromApp = await boundaryErrors(
      'apps/ingest/src/probe.ts',
      `import { createSpeedConsumer } from '../../speed/src/consumer.js';\nexport const probe = createSpeedConsumer;\n`,
    );
    expect(fromApp.join('\n')).toMatch(/Projects cannot be imported by a relative or absolute path/);
    const appToApp = await boundaryErrors(
      'apps/ingest/src/probe.ts',
      `import { buildServingApp } from '@lambdarec/serving';\nexport const probe = buildServingApp;\n`,
    );
    expect(appToApp.join('\n')).toMatch(/Imports of apps are forbidden|can only depend on libs tagged with/);
  });

  it('let an app import the libraries it declares', async () => {
    const errors = await boundaryErrors(
      'apps/serving/src/probe.ts',
      `import { mergeRecommendations } from '@lambdarec/domain';\nexport const probe = mergeRecommendations;\n`,
    );
    expect(errors).toEqual([]);
  });
});
