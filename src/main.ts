import { ConfigError, loadConfig } from "./config/load.js";

/**
 * Entry: config → database → migrate → features → app → listen → signals. The configuration is checked
 * before the server's modules load (a second or more on a busy machine), so a container missing
 * its settings says so and exits at once.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw e;
  }
  const [{ createLogger }, { startServer }, { buildFeatures }] = await Promise.all([
    import("./observability/logger.js"),
    import("./server/lifecycle.js"),
    import("./features.js"),
  ]);
  const logger = createLogger(config.log);
  const server = await startServer(config, { logger, features: buildFeatures });
  logger.info(
    { environment: config.environment, api: server.addresses.api, ws: server.addresses.ws, metrics: server.addresses.metrics, database: redactUrl(config.database.url) },
    `SQL Studio Server ready: API (gRPC, gRPC-Web, Connect) ${server.addresses.api} · WebSocket ${server.addresses.ws} · metrics ${server.addresses.metrics}`,
  );
  let stopping: NodeJS.Signals | undefined;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    // `on`, not `once`: a second signal during the drain (a terminal's Ctrl-C reaches the whole
    // process group and npm forwards it once more; an impatient second Ctrl-C) is logged and
    // ignored. Without a handler it would end the process at once and cut in-flight work; the
    // shutdown timeout below still bounds the drain.
    process.on(signal, () => {
      if (stopping) {
        logger.info({ signal, first: stopping }, "shutdown already under way: signal ignored until it completes or times out");
        return;
      }
      stopping = signal;
      // The shutdown timeout is hard: whatever still holds the process when it is up (a socket to
      // a database that never answers, a stuck handler) does not keep it alive.
      setTimeout(() => {
        logger.error({ timeoutMs: config.server.shutdownTimeoutMs }, "shutdown timeout passed: exiting now");
        logger.flush?.();
        process.exit(1);
      }, config.server.shutdownTimeoutMs).unref();
      server.shutdown(signal).then(
        () => {
          logger.flush?.();
          process.exit(0);
        },
        (err) => {
          logger.error({ err }, "shutdown failed");
          logger.flush?.();
          process.exit(1);
        },
      );
    });
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//[redacted]@").replace(/([?&](auth)?[Tt]oken=)[^&]*/, "$1[redacted]");
}

main().catch((err) => {
  process.stderr.write(`failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
