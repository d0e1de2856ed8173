/**
 * Lambda entry of the API route group "docs" (OpenAPI document and docs page). It needs no database and
 * no secret, so it skips the container: no cold-start connection, no VPC.
 */
import { createDocsHandler } from '../api/docs';
import { observed, powertoolsAppLogger } from './observability';
import { ENV } from './param-names';

export const handler = observed(
  createDocsHandler({ corsOrigin: process.env[ENV.corsOrigin], logger: powertoolsAppLogger() }),
);
