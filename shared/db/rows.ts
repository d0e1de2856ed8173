/** The rows of a raw `db.execute(sql…)` result (both drivers answer `{ rows }`). */
export function resultRows(result: unknown): Record<string, unknown>[] {
  return ((result as { rows?: Record<string, unknown>[] }).rows ?? []) as Record<string, unknown>[];
}
