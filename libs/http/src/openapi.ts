import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

export interface OpenApiOptions {
  title: string;
  description: string;
  version?: string;
  /** Whether some routes use HTTP basic auth (declared as the `basicAuth` security scheme). */
  basicAuth?: boolean;
  /** Bearer-token schemes some routes use, by name (e.g. `catalogApiKey`). */
  bearerAuth?: readonly string[];
}

/** OpenAPI 3 generated from the routes' zod schemas: JSON at /docs/json, Swagger UI at /docs. */
export const openApiPlugin = fp<OpenApiOptions>(
  async (app: FastifyInstance, { title, description, version = '0.1.0', basicAuth = false, bearerAuth = [] }) => {
    const securitySchemes: Record<string, { type: 'http'; scheme: string }> = {
      ...(basicAuth ? { basicAuth: { type: 'http', scheme: 'basic' } } : {}),
      ...Object.fromEntries(bearerAuth.map((name) => [name, { type: 'http' as const, scheme: 'bearer' }])),
    };
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title, description, version },
        ...(Object.keys(securitySchemes).length > 0 ? { components: { securitySchemes } } : {}),
      },
      transform: jsonSchemaTransform,
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  },
  { name: 'lrec-openapi' },
);
