import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EVENT_TOPIC_CONFIG } from '@lambdarec/contracts';
import { WORKSPACE_ROOT } from '@lambdarec/local-stack';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { describe, expect, inject, it } from 'vitest';
import { createTestTopic } from '../src/index.js';

// Records carry the broker's append time on every event topic, wherever it is created: a topic
// left at CreateTime would let retention delete a backdated import before it is archived.
describe('event topic settings', () => {
  it("the test helpers create a topic and its DLQ with EVENT_TOPIC_CONFIG, so tests run on production's settings", async () => {
    const brokers = inject('infra').kafkaBrokers;
    const created = await createTestTopic(brokers, { partitions: 1 });
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [created.topic, created.dlq].map((name) => ({
          type: ConfigResourceTypes.TOPIC,
          name,
          configNames: Object.keys(EVENT_TOPIC_CONFIG),
        })),
      });
      for (const resource of resources) {
        expect(
          Object.fromEntries(resource.configEntries.map(({ configName, configValue }) => [configName, configValue])),
          resource.resourceName,
        ).toEqual(EVENT_TOPIC_CONFIG);
      }
    } finally {
      await admin.disconnect();
      await created.remove();
    }
  });

  it('the infra scripts (infra/lib/common.sh, for local.sh and cluster.sh) and docker-compose.yml give the event topics the same settings', () => {
    const localSh = readFileSync(path.join(WORKSPACE_ROOT, 'infra/lib/common.sh'), 'utf8');
    const compose = readFileSync(path.join(WORKSPACE_ROOT, 'docker-compose.yml'), 'utf8');
    const localConfig = /^readonly TOPIC_CONFIG=\(([^)]*)\)$/m
      .exec(localSh)?.[1]
      ?.match(/"[^"]*"/g)
      ?.map((quoted) => quoted.slice(1, -1));
    const settings = Object.entries(EVENT_TOPIC_CONFIG).map(([name, value]) => `${name}=${value}`);
    expect(localConfig).toEqual(settings);
    for (const setting of settings) {
      // Given when compose creates a topic, and added to one an older compose file created.
      expect(compose).toContain(`--config ${setting}`);
      expect(compose).toContain(`--add-config ${setting}`);
    }
  });
});
