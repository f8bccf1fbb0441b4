import cluster from 'node:cluster';
import { loadConfig, type Config } from '@evt/config';
import { createLogger, stopOnSignals, type Logger } from '@evt/logging';
import { aggregateForWorkers } from '@evt/metrics';
// The product's version is the root package.json's; the bundler inlines it at build time.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { version } from '../../../package.json';
import { startGateway } from './gateway';

/** GATEWAY_PROCESSES > 1: a primary that only forks and restarts workers sharing one port. */
function runPrimary(config: Config, logger: Logger): void {
  let stopping = false;
  // /metrics in any process answers with the sum over all of them, collected here.
  aggregateForWorkers();
  for (let i = 0; i < config.gatewayProcesses; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    logger.error({ pid: worker.process.pid, code, signal }, 'gateway process died; starting another');
    cluster.fork();
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function runServer(config: Config, logger: Logger): Promise<void> {
  const gateway = await startGateway(config, logger, version);
  logger.info({ port: gateway.port }, 'gateway listening');
  stopOnSignals(logger, 'answering requests in flight, then closing', () => gateway.stop());
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('gateway', config.logLevel);
  if (config.gatewayProcesses > 1 && cluster.isPrimary) return runPrimary(config, logger);
  await runServer(config, logger);
}

main().catch((error: Error) => {
  console.error(`gateway failed to start: ${error.message}`);
  process.exit(1);
});
