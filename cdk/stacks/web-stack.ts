/**
 * Web: the single-page app on S3 behind CloudFront.
 *
 * - The bucket blocks all public access and refuses plain HTTP; only CloudFront reads it, through Origin
 *   Access Control (the bucket policy names this distribution).
 * - SPA routes (`/backtests/…`) are paths the bucket does not have: 403/404 from S3 become index.html.
 * - The built app (web/dist) is deployed with BucketDeployment. If it is not built at synth time, a
 *   placeholder page is deployed instead and synth says so (build with `npm run build:web` or the web
 *   helper's script, then deploy again).
 * - `config.json` (the API's URL, read by the app at runtime) is NOT deployed here: the API's CORS origin
 *   is this distribution's domain, and config.json needs the API's URL, so writing it here would make the
 *   two stacks depend on each other. The Api stack writes it (SiteRuntimeConfig) after the API exists;
 *   the deployment here excludes it so that a redeploy of the site never prunes it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  Annotations,
  Aws,
  CfnOutput,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import type { Construct } from 'constructs';
import type { AppConfig } from '../config';
import { REPO_ROOT } from '../constructs/app-function';

export const RUNTIME_CONFIG_FILE = 'config.json';

/**
 * The site bucket's name, the same expression in every stack (account and region resolve in place): the
 * Api stack names the bucket by it instead of importing it, so nothing about the bucket crosses stacks.
 * One site per account and region.
 */
export function siteBucketName(): string {
  return Fn.join('-', ['agent-trading-firm-site', Aws.ACCOUNT_ID, Aws.REGION]);
}
const SITE_CACHE_SECONDS = 300;

const PLACEHOLDER_HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Agent trading firm</title></head>
<body><h1>Agent trading firm</h1><p>The web app was not built when this stack was synthesized.
Build it (web/dist) and run <code>npx cdk deploy --all</code> again. The API is up: see the ApiUrl output.</p></body></html>`;

export interface WebStackProps extends StackProps {
  config: AppConfig;
}

export class WebStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** https://<id>.cloudfront.net: the site's origin, the only one the API's CORS allows. */
  readonly siteOrigin: string;
  readonly placeholder: boolean;

  constructor(scope: Construct, id: string, props: WebStackProps) {
    super(scope, id, props);
    this.bucket = new s3.Bucket(this, 'SiteBucket', {
      bucketName: siteBucketName(),
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });

    this.distribution = new cloudfront.Distribution(this, 'Site', {
      comment: 'Agent trading firm web app',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        compress: true,
      },
      errorResponses: [403, 404].map((httpStatus) => ({
        httpStatus,
        responseHttpStatus: 200,
        responsePagePath: '/index.html',
        ttl: Duration.seconds(0),
      })),
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
    });
    this.siteOrigin = `https://${this.distribution.distributionDomainName}`;

    const dist = path.resolve(REPO_ROOT, props.config.webDist);
    this.placeholder = !existsSync(path.join(dist, 'index.html'));
    if (this.placeholder)
      Annotations.of(this).addInfo(
        `${props.config.webDist} is not built: deploying a placeholder page instead.`,
      );
    new s3deploy.BucketDeployment(this, 'DeploySite', {
      sources: [
        this.placeholder ? s3deploy.Source.data('index.html', PLACEHOLDER_HTML) : s3deploy.Source.asset(dist),
      ],
      destinationBucket: this.bucket,
      exclude: [RUNTIME_CONFIG_FILE],
      cacheControl: [s3deploy.CacheControl.fromString(`public, max-age=${SITE_CACHE_SECONDS}`)],
      distribution: this.distribution,
      distributionPaths: ['/*'],
      memoryLimit: 512,
    });

    new CfnOutput(this, 'SiteUrl', { value: this.siteOrigin, description: 'The web app' });
    this.acknowledge();
  }

  private acknowledge() {
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Static site bucket read only by CloudFront through OAC; access logs would cost more than they tell.',
    });
    Validations.of(this.distribution).acknowledge(
      { id: 'AwsSolutions-CFR1', reason: 'A personal simulator with no geographic restriction requirement.' },
      {
        id: 'AwsSolutions-CFR2',
        reason: 'WAF costs at least $5/month; the site is static files with no forms.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason: 'Access logs need an ACL-enabled log bucket; not worth it for a personal site.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The default *.cloudfront.net certificate fixes the policy; set TLSv1.2_2021 once a custom domain is added.',
      },
    );
  }
}
