/**
 * Lambda entry of the backtest and study tasks: plan a backtest, start a decision point, simulate and
 * persist, mark failed; and the study's plan (its cell items written to S3, where the Distributed Map
 * reads them), start cell, record cell, report, mark failed; and the learning cycle's steps (the Learning
 * machine, and a walk-forward backtest's cycles).
 */
import { randomUUID } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { backtestStepFns, learningStepFns, studyStepFns } from '../workflow/bindings';
import { type CellItemsWriter, createBacktestStepsHandler } from '../workflow/tasks';
import { observed, traced } from './observability';
import { ENV } from './param-names';
import { getLambdaContainer } from './runtime';

const bucket = process.env[ENV.studyItemsBucket];
let s3: S3Client | undefined;
const writeItems: CellItemsWriter = async (studyId, items) => {
  s3 ??= traced(new S3Client({}));
  const key = `study-items/${studyId}/${randomUUID()}.json`;
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(items),
      ContentType: 'application/json',
    }),
  );
  return key;
};

export const handler = observed(
  createBacktestStepsHandler(
    async () => (await getLambdaContainer()).deps,
    backtestStepFns,
    {
      fns: studyStepFns,
      ...(bucket ? { writeItems } : {}),
    },
    learningStepFns,
  ),
);
