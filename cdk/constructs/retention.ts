/** CloudWatch Logs accepts only certain retention periods; map a day count to one, or say which are valid. */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

const VALID = new Set(Object.values(RetentionDays).filter((v): v is number => typeof v === 'number'));

export function retention(days: number): RetentionDays {
  if (!VALID.has(days))
    throw new Error(
      `logRetentionDays must be one of ${[...VALID].sort((a, b) => a - b).join(', ')} (got ${days})`,
    );
  return days as RetentionDays;
}
