/** Sentiment/news analyst (cheap tier): tone of the static, dated narrative items visible at decision time. */
import type { SentimentInput } from '../inputs';
import { messages } from './common';

/** @2: the input's source label no longer carries the file's compile date (look-ahead). */
export const PROMPT_VERSION = 'sentiment@2';

const SYSTEM =
  'You are the sentiment and news analyst of a crypto trading firm. You get dated narrative items from ' +
  'a static file (not live news), each with a tone from -1 to 1 and its age in days. Weigh recent items ' +
  'more. Give sentiment (bullish/bearish/neutral), score from -1 to 1, up to 5 key themes, and a ' +
  'data_note that says the data is static and how old it is.';

export function build(input: SentimentInput) {
  return messages(SYSTEM, input);
}
