/** asl-validator ships no types; the call this project makes (cdk/workflows/history.test.ts). */
declare module 'asl-validator' {
  export default function aslValidator(
    definition: unknown,
    options?: Record<string, unknown>,
  ): { isValid: boolean; errorsText: (separator?: string) => string };
}
