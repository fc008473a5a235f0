import { testConfig } from '@lambdarec/testing/vitest-config';

export default testConfig({ project: 'client', integration: false });
