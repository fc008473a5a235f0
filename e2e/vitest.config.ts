import { testConfig } from '@lambdarec/testing/vitest-config';

export default testConfig({ project: 'e2e', integration: true });
