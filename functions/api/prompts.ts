/**
 * Route group "prompts": the prompt registry, read-only. `GET /prompts` (every agent), `GET
 * /prompts/{agent}` (its versions with their scores), `GET /prompts/{agent}/{version}` (the text).
 * See shared/prompts.
 */
import {
  promptAgentDto,
  promptAgentParamSchema,
  promptTextDto,
  promptVersionDto,
  promptVersionParamSchema,
} from '../../shared/api/prompts';
import type { Settings } from '../../shared/config/settings';
import type { DbOrTx } from '../../shared/db/client';
import { agentPromptVersions, listPromptAgents, promptVersionText } from '../../shared/prompts/read';
import { createRouteGroup, type HttpOptions, json, parseWith } from './http';

export interface PromptsHandlerDeps {
  container: { settings: Settings; db: DbOrTx };
}

export function createPromptsHandler({ container }: PromptsHandlerDeps, options: HttpOptions = {}) {
  const { db, settings } = container;
  return createRouteGroup(
    'prompts',
    [
      {
        method: 'GET',
        path: '/prompts',
        handler: async () =>
          json(200, { agents: (await listPromptAgents(db, settings)).map(promptAgentDto) }),
      },
      {
        method: 'GET',
        path: '/prompts/{agent}',
        handler: async (req) => {
          const p = parseWith(promptAgentParamSchema, req.pathParams, 'path');
          const r = await agentPromptVersions(db, settings, p.agent);
          return json(200, { agent: promptAgentDto(r.agent), versions: r.versions.map(promptVersionDto) });
        },
      },
      {
        method: 'GET',
        path: '/prompts/{agent}/{version}',
        handler: async (req) => {
          const p = parseWith(promptVersionParamSchema, req.pathParams, 'path');
          return json(200, promptTextDto(await promptVersionText(db, p.agent, p.version)));
        },
      },
    ],
    options,
  );
}
