/**
 * `npm start`: the whole product on one port. Settings from the environment (a bad one prints the
 * setting and exits 2), then the local host (server.ts); one log line says where it listens and what
 * it uses. Ctrl-C / SIGTERM: stop accepting, let in-flight requests and running workflows finish (up to
 * a bound), close the database, exit 0. A second signal exits at once (1).
 */
import '../../shared/polyfills';
import '../../shared/config/dotenv';
import pino from 'pino';
import { ConfigError, loadSettings } from '../../shared/config/settings';
import { startLocalServer } from './server';

const EXIT_CONFIG = 2;

async function main() {
  let settings: ReturnType<typeof loadSettings>;
  try {
    settings = loadSettings(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw e;
  }
  const logger = pino({ name: 'local', level: settings.LOG_LEVEL });
  const server = await startLocalServer({ settings, logger });
  logger.info(server.describe());

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests and workflows');
    server
      .close()
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err) => {
  process.stderr.write(`failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
