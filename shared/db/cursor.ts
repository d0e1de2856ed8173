/**
 * Opaque keyset cursors for the list endpoints: newest first, ordered by (time desc, id desc), so a
 * page never skips or repeats a row when new rows arrive between requests (offsets would).
 * The cursor is base64url of `<epoch ms>|<id>`; a cursor that does not decode is a 400 naming `cursor`.
 */
import { AppError } from '../util/errors';

export interface CursorKey {
  timeMs: number;
  id: string;
}

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(`${key.timeMs}|${key.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): CursorKey | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^(\d{1,16})\|([\w-]{1,100})$/.exec(text);
  if (!m?.[1] || !m[2]) {
    throw new AppError(
      'VALIDATION_ERROR',
      'cursor: not a cursor this API issued (use nextCursor from a previous page)',
      {
        field: 'cursor',
      },
    );
  }
  return { timeMs: Number(m[1]), id: m[2] };
}
