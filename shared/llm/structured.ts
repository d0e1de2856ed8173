/**
 * Structured output: a zod schema becomes the JSON schema sent to the model, and the model's reply is
 * validated by the same zod schema. Two modes, chosen per model (see client.ts):
 * - `json_schema`: `response_format: { type: 'json_schema', json_schema: { name, strict: true, schema } }`.
 *   OpenAI's strict mode rejects some keywords (string minLength/maxLength); those are left out of the
 *   schema sent and still enforced by zod on the reply.
 * - `json_object` (JSON mode, for servers without schema support): the schema goes into the system
 *   message as text and the reply is validated the same way.
 */
import { z } from 'zod';
import type { ChatMessage } from './tokens';

export type StructuredMode = 'json_schema' | 'json_object';

const UNSUPPORTED_IN_STRICT = new Set(['$schema', 'minLength', 'maxLength']);

function strip(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strip);
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) if (!UNSUPPORTED_IN_STRICT.has(k)) out[k] = strip(v);
    return out;
  }
  return node;
}

/** The JSON schema of a zod output schema, in the subset strict structured outputs accept. */
export function toStrictJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return strip(z.toJSONSchema(schema, { io: 'output' })) as Record<string, unknown>;
}

/** JSON mode: the schema travels as text in the system message ("JSON" must appear in the messages). */
export function withSchemaInstruction(messages: readonly ChatMessage[], jsonSchema: unknown): ChatMessage[] {
  const instruction = `Reply with one JSON object that matches this JSON schema exactly:\n${JSON.stringify(jsonSchema)}`;
  const [first, ...rest] = messages;
  if (first?.role === 'system')
    return [{ role: 'system', content: `${first.content}\n\n${instruction}` }, ...rest];
  return [{ role: 'system', content: instruction }, ...messages];
}

export type ParsedReply<T> = { ok: true; value: T } | { ok: false; error: string };

const MAX_ERROR_CHARS = 600;

/** Parse and validate a reply. The error text is what the repair attempt sends back to the model. */
export function parseReply<T>(content: string | null | undefined, schema: z.ZodType<T>): ParsedReply<T> {
  if (!content || content.trim() === '') return { ok: false, error: 'the reply was empty' };
  let json: unknown;
  try {
    json = JSON.parse(stripCodeFence(content));
  } catch (e) {
    return {
      ok: false,
      error: `the reply is not valid JSON (${(e as Error).message})`.slice(0, MAX_ERROR_CHARS),
    };
  }
  const r = schema.safeParse(json);
  if (r.success) return { ok: true, value: r.data };
  const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  return { ok: false, error: `the reply does not match the schema: ${issues}`.slice(0, MAX_ERROR_CHARS) };
}

/** Some JSON-mode servers wrap JSON in a markdown fence; accept exactly that and nothing looser. */
function stripCodeFence(s: string): string {
  const m = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/.exec(s);
  return m ? m[1]! : s;
}
