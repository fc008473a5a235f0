import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

export interface OpenApiOptions {
  title: string;
  description: string;
  version?: string;
}

/** OpenAPI 3 generated from the routes' zod schemas: JSON at /docs/json, Swagger UI at /docs. */
export const openApiPlugin = fp<OpenApiOptions>(
  async (app: FastifyInstance, { title, description, version = '0.1.0' }) => {
    await app.register(swagger, {
      openapi: { openapi: '3.1.0', info: { title, description, version } },
      transform: jsonSchemaTransform,
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  },
  { name: 'lrec-openapi' },
);
