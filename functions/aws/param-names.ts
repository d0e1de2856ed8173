/**
 * Which settings live where on AWS. Shared by the stacks (which create the parameters, seeded with the
 * defaults of shared/config/settings.ts) and by params.ts (which reads them at cold start). Pure
 * constants: importing this file pulls in nothing else.
 *
 * - SSM Parameter Store (String, free tier): budgets, model names and risk limits, one parameter per
 *   setting under PARAMS_PREFIX, named like the setting (`<prefix>/DAILY_TOKEN_BUDGET`). Change one with
 *   `aws ssm put-parameter --overwrite`; functions pick it up on their next cold start.
 * - Secrets Manager: the LLM API key (LLM_API_KEY_SECRET_ARN; the user sets its value after deploy),
 *   the database credentials RDS generated (DB_SECRET_ARN) and, with `-c writeKey=true`, the write key
 *   (WRITE_KEY_SECRET_ARN, generated at deploy).
 * - The Lambda environment: the names and ARNs above, nothing secret.
 */
export const SSM_SETTING_KEYS = [
  'LLM_PROVIDER',
  'CHEAP_MODEL',
  'STRONG_MODEL',
  'LLM_TEMPERATURE',
  'LLM_CACHE',
  'DAILY_TOKEN_BUDGET',
  'RESEARCHER_MIN_CONFIDENCE',
  'INITIAL_CASH',
  'MAX_POSITION_SIZE_PCT',
  'MAX_TOTAL_EXPOSURE_PCT',
  'FEE_BPS',
  'SLIPPAGE_BPS',
  'SYMBOLS',
  'BACKTEST_MAX_DECISIONS',
  'BACKTEST_MAX_FAILED_PCT',
] as const;
export type SsmSettingKey = (typeof SSM_SETTING_KEYS)[number];

/** Environment variable names a function reads to find its configuration. */
export const ENV = {
  paramsPrefix: 'PARAMS_PREFIX',
  llmKeySecretArn: 'LLM_API_KEY_SECRET_ARN',
  dbSecretArn: 'DB_SECRET_ARN',
  analysisStateMachineArn: 'ANALYSIS_STATE_MACHINE_ARN',
  backtestStateMachineArn: 'BACKTEST_STATE_MACHINE_ARN',
  studyStateMachineArn: 'STUDY_STATE_MACHINE_ARN',
  learningStateMachineArn: 'LEARNING_STATE_MACHINE_ARN',
  /** The bucket the study plan step writes its cell items to (the Distributed Map reads them). */
  studyItemsBucket: 'STUDY_ITEMS_BUCKET',
  corsOrigin: 'CORS_ORIGIN',
  /** Set only with `-c writeKey=true`, on the route groups that have writes. */
  writeKeySecretArn: 'WRITE_KEY_SECRET_ARN',
} as const;

/**
 * The LLM key secret is created holding this placeholder (Secrets Manager cannot hold an empty value);
 * while it is there, the functions run the offline provider. Not a secret: it is the absence of one.
 */
export const LLM_KEY_UNSET = 'UNSET';
