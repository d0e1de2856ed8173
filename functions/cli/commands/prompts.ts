/**
 * The prompt registry from the command line (shared/prompts): `prompts` (every agent), `prompts
 * <agent>` (its versions with their scores), `prompts <agent> <version>` (the text), `prompt-add <agent>
 * <file>` (a manual version; `--activate` makes the next decisions use it) and `prompt-activate <agent>
 * <version>`. Same core and database as the API.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { agentPromptVersions, listPromptAgents, promptVersionText } from '../../../shared/prompts/read';
import { activatePromptVersion, createPromptVersion } from '../../../shared/prompts/registry';
import type { PromptScore } from '../../../shared/prompts/scores';
import type { CliContext } from '../context';
import { pct, print, printJson, table, withContainer } from './support';

const scoreText = (s: PromptScore) =>
  s.count === 0 ? '-' : `${pct(s.winRate)} win, ${s.meanPnlPct!.toFixed(2)}% mean (n=${s.count})`;

export function registerPromptsCommands(program: Command, ctx: CliContext): void {
  program
    .command('prompts [agent] [version]')
    .description(
      "The prompt registry: every agent, an agent's versions with their scores, or a version's text",
    )
    .option('--json', 'print JSON')
    .action(async (agent: string | undefined, version: string | undefined, flags: { json?: boolean }) => {
      if (!agent) {
        const agents = await withContainer(ctx, (c) => listPromptAgents(c.db, c.settings));
        if (flags.json) return printJson(ctx, agents);
        return print(
          ctx,
          table(
            agents.map((a) => ({
              agent: a.agent,
              active: a.activeVersion,
              builtin: a.builtinVersion,
              versions: a.versions,
              ab: a.abVersions.join(' vs '),
            })),
          ),
        );
      }
      if (version) {
        const r = await withContainer(ctx, (c) => promptVersionText(c.db, agent, version));
        if (flags.json) return printJson(ctx, r);
        print(ctx, `${r.agent} ${r.version} (${r.origin}${r.parent ? `, parent ${r.parent}` : ''})`);
        return print(ctx, r.text);
      }
      const r = await withContainer(ctx, (c) => agentPromptVersions(c.db, c.settings, agent));
      if (flags.json) return printJson(ctx, r);
      print(
        ctx,
        table(
          r.versions.map((v) => ({
            version: v.version,
            origin: v.origin,
            parent: v.parent ?? '',
            use: [v.active ? 'active' : '', v.inAbTest ? 'A/B' : ''].filter(Boolean).join(', '),
            all: scoreText(v.scores.all),
            live: scoreText(v.scores.live),
            backtests: scoreText(v.scores.backtest),
          })),
        ),
      );
    });

  program
    .command('prompt-add <agent> <file>')
    .description("Register a manual version of an agent's prompt from a text file (- for stdin)")
    .option('--parent <version>', 'the version it derives from (default: the active one)')
    .option('--activate', 'make it the active version: the next decisions use it')
    .option('--json', 'print JSON')
    .action(
      async (agent: string, file: string, flags: { parent?: string; activate?: boolean; json?: boolean }) => {
        const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
        const made = await withContainer(ctx, async (c) => {
          const parent =
            flags.parent ??
            (await listPromptAgents(c.db, c.settings)).find((a) => a.agent === agent)?.activeVersion ??
            null;
          return createPromptVersion(c.db, {
            agent,
            text: text.trimEnd(),
            origin: 'manual',
            parent,
            activate: flags.activate === true,
            note: 'cli prompt-add',
          });
        });
        if (flags.json) return printJson(ctx, made);
        print(
          ctx,
          `${agent} ${made.version}: ${made.created ? 'registered' : 'already registered'}${flags.activate ? ', active' : ''}`,
        );
      },
    );

  program
    .command('prompt-activate <agent> <version>')
    .description('Make a registered version the one decisions use (without an A/B arm or a backtest pin)')
    .action(async (agent: string, version: string) => {
      await withContainer(ctx, (c) => activatePromptVersion(c.db, agent, version, 'person'));
      print(ctx, `${agent}: ${version} is active`);
    });
}
