import { testConfig } from '@lambdarec/testing/vitest-config';

export default testConfig({ project: 'simulate', integration: false });
