import { testConfig } from '@lambdarec/testing/vitest-config';

export default testConfig({ project: 'load', integration: false });
