/**
 * Deploy-time switches, read once from CDK context (`-c key=value` or cdk.json). Every knob has a
 * default that suits a personal account; none of them is a secret.
 *
 * - `natGateway=true`      a managed NAT gateway instead of the default NAT instance (NatProvider.instanceV2,
 *                          a t4g.nano for a few dollars a month; a NAT gateway is ~$33/month plus data).
 * - `bundling=false`       skip esbuild: every function gets a tiny inline stub. Unit tests and the local
 *                          Step Functions runner synthesize this way (seconds, not a minute); `npm run synth`
 *                          and `cdk deploy` always bundle for real.
 * - `deletionProtection`   RDS deletion protection and snapshot-on-delete (default false, so `cdk destroy`
 *                          leaves nothing billable behind; set true for data you want to keep).
 * - `dbInstanceType`       default t4g.micro (Graviton, free-tier eligible for a year).
 * - `mapConcurrency`       decision points of a backtest at once (BACKTEST_MAP_CONCURRENCY on AWS), 1 to
 *                          1,000: each is a child execution of the decision Map (a Distributed Map, so
 *                          the inline cap of 40 does not apply). Above 40 it needs
 *                          `agentStepsReservedConcurrency`.
 * - `agentStepsReservedConcurrency`  reserved concurrency of the agent-steps function (default none). A
 *                          decision point runs up to 3 agent steps at once (the analysts), so it must be at
 *                          least 3 x mapConcurrency or the analysts get throttled. Reserving costs nothing
 *                          by itself; it takes that many from the account's concurrency (1,000 by
 *                          default, of which 100 must stay unreserved), so other functions get fewer.
 * - `logRetentionDays`     CloudWatch Logs retention for functions, API access logs and state machines.
 * - `tracing=true`         X-Ray tracing on functions, API and state machines (off: it costs per trace).
 * - `alarmEmail`           an address subscribed to the alarm topic (unset: alarms only show in the console).
 * - `webDist`              folder of the built web app (default web/dist; a placeholder page when absent).
 * - `selfLearningSchedule` an EventBridge Scheduler expression (`cron(0 2 * * ? *)`, `rate(1 day)`) that
 *                          starts the Learning state machine on the live book; falls back to the
 *                          SELF_LEARNING_SCHEDULE environment variable; unset (default): no schedule.
 * - `metricsNamespace`     the CloudWatch namespace of the operational metrics (default AgentTradingFirm):
 *                          set as METRICS_NAMESPACE on every function and read by the dashboard.
 * - `writeKey=true`        writes (POST /analyze, POST /backtest) require a key from Secrets Manager in
 *                          the X-Write-Key header; reads stay public. Off by default (see README).
 */
import type { Node } from 'constructs';
import { ANALYSTS } from '../functions/workflow/steps';
import { DEFAULT_METRICS_NAMESPACE } from '../shared/observability/metrics';
import { DISTRIBUTED_MAP_MAX_CONCURRENCY, INLINE_MAP_MAX_CONCURRENCY } from './workflows/distributed-map';

export interface AppConfig {
  natGateway: boolean;
  bundling: boolean;
  deletionProtection: boolean;
  dbInstanceType: string;
  mapConcurrency: number;
  agentStepsReservedConcurrency: number | undefined;
  logRetentionDays: number;
  tracing: boolean;
  alarmEmail: string | undefined;
  webDist: string;
  writeKey: boolean;
  /** The nightly learning cycle's schedule expression, or undefined (no schedule). */
  selfLearningSchedule: string | undefined;
  metricsNamespace: string;
}

const SCHEDULE_EXPRESSION = /^(cron|rate)\(.+\)$/;

const DEFAULT_MAP_CONCURRENCY = 10;
/** Agent steps one decision point runs at once (the analysts' Parallel). */
export const AGENT_STEPS_PER_DECISION_AT_ONCE = ANALYSTS.length;
const DEFAULT_LOG_RETENTION_DAYS = 30;

function flag(node: Node, key: string, fallback: boolean): boolean {
  const v = node.tryGetContext(key);
  if (v === undefined || v === null || v === '') return fallback;
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  if (['true', '1', 'yes'].includes(s)) return true;
  if (['false', '0', 'no'].includes(s)) return false;
  throw new Error(`context ${key} must be true or false (got ${JSON.stringify(v)})`);
}

function int(node: Node, key: string, fallback: number, min: number, max: number): number {
  const v = node.tryGetContext(key);
  if (v === undefined || v === null || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`context ${key} must be a whole number from ${min} to ${max} (got ${JSON.stringify(v)})`);
  return n;
}

function str(node: Node, key: string): string | undefined {
  const v = node.tryGetContext(key);
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

export function readAppConfig(node: Node): AppConfig {
  const mapConcurrency = int(
    node,
    'mapConcurrency',
    DEFAULT_MAP_CONCURRENCY,
    1,
    DISTRIBUTED_MAP_MAX_CONCURRENCY,
  );
  const reserved = node.tryGetContext('agentStepsReservedConcurrency');
  const agentStepsReservedConcurrency =
    reserved === undefined || reserved === null || reserved === ''
      ? undefined
      : int(node, 'agentStepsReservedConcurrency', 0, 1, 10_000);
  const needed = mapConcurrency * AGENT_STEPS_PER_DECISION_AT_ONCE;
  if (mapConcurrency > INLINE_MAP_MAX_CONCURRENCY && agentStepsReservedConcurrency === undefined)
    throw new Error(
      `context mapConcurrency=${mapConcurrency} is above ${INLINE_MAP_MAX_CONCURRENCY}: set agentStepsReservedConcurrency (at least ${needed}) so the agent steps have the capacity and bound the load`,
    );
  if (agentStepsReservedConcurrency !== undefined && agentStepsReservedConcurrency < needed)
    throw new Error(
      `context agentStepsReservedConcurrency=${agentStepsReservedConcurrency} is below ${needed}: ${mapConcurrency} decision points at once run up to ${needed} agent steps at once`,
    );
  return {
    natGateway: flag(node, 'natGateway', false),
    bundling: flag(node, 'bundling', true),
    deletionProtection: flag(node, 'deletionProtection', false),
    dbInstanceType: str(node, 'dbInstanceType') ?? 't4g.micro',
    mapConcurrency,
    agentStepsReservedConcurrency,
    logRetentionDays: int(node, 'logRetentionDays', DEFAULT_LOG_RETENTION_DAYS, 1, 3653),
    tracing: flag(node, 'tracing', false),
    alarmEmail: str(node, 'alarmEmail'),
    webDist: str(node, 'webDist') ?? 'web/dist',
    writeKey: flag(node, 'writeKey', false),
    selfLearningSchedule: schedule(node),
    metricsNamespace: str(node, 'metricsNamespace') ?? DEFAULT_METRICS_NAMESPACE,
  };
}

function schedule(node: Node): string | undefined {
  const v = str(node, 'selfLearningSchedule') ?? (process.env.SELF_LEARNING_SCHEDULE || undefined);
  if (v !== undefined && !SCHEDULE_EXPRESSION.test(v))
    throw new Error(
      `selfLearningSchedule must be cron(...) or rate(...), as EventBridge Scheduler writes it (got ${JSON.stringify(v)})`,
    );
  return v;
}
