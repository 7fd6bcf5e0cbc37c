import { RaftqNode } from "./raftq-node.js";
import { createLogger } from "../observability/logger.js";
import { nodeHelp, parseNodeArgs } from "./node-options.js";

/** `raftq node`: run one server until SIGTERM/SIGINT, then shut down cleanly. */
export async function runNode(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(nodeHelp());
    return 0;
  }
  let config;
  try {
    config = parseNodeArgs(args, process.env);
  } catch (e) {
    console.error(`raftq node: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  const logger = createLogger({ level: config.logLevel, nodeId: config.id });
  let node: RaftqNode;
  try {
    node = await RaftqNode.start(config, { logger });
  } catch (e) {
    logger.fatal({ err: e }, "could not start");
    logger.flush();
    console.error(`raftq node: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  // One line on stdout that tools (tests, `raftq dev`) can parse.
  console.log(
    JSON.stringify({ event: "listening", id: config.id, grpcPort: node.grpcPort, httpPort: node.httpPort }),
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, "shutting down");
      resolve();
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  await node.stop();
  logger.flush();
  return 0;
}
