/** Response schema of `GET /api/openapi.json`: an OpenAPI 3.0 document. */
import { anyJson, map, obj, str } from './common.js';

export const OPENAPI_DOCUMENT = obj(
  { openapi: str, info: obj({ title: str, version: str }), paths: map(map(anyJson)) },
  {
    components: { type: 'object' },
    security: { type: 'array' },
    servers: { type: 'array' },
    tags: { type: 'array' },
  },
);
