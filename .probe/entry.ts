import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SSMClient } from '@aws-sdk/client-ssm';
const logger = new Logger({ serviceName: 'probe' });
const metrics = new Metrics({ namespace: 'Probe', serviceName: 'probe' });
const tracer = new Tracer({ serviceName: 'probe' });
const ssm = new SSMProvider({ awsSdkV3Client: tracer.captureAWSv3Client(new SSMClient({})) });
const secrets = new SecretsProvider();
export const handler = async () => {
  logger.info('hello', { a: 1 });
  metrics.addMetric('x', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  return { ok: typeof ssm.getMultiple, s: typeof secrets.get };
};
