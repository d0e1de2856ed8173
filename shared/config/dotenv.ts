/**
 * Side-effect import for the laptop entry points (npm start, the CLI): reads `.env` from the working
 * directory when it exists. Variables already set in the environment win, as with every dotenv tool.
 * Lambda never imports this: there, settings come from SSM and Secrets Manager.
 */
import { existsSync } from 'node:fs';

const file = process.env.ENV_FILE ?? '.env';
if (existsSync(file)) process.loadEnvFile(file);
