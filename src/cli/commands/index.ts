/** The client-side `raftq` commands, for src/cli/main.ts to dispatch: name -> (args) => exit code. */
export { runDev } from "./dev.js";
export { runJobs } from "./jobs.js";
export { runMembers } from "./members.js";
export { runStart } from "./start.js";
export { runStatus } from "./status.js";
export { runStepDown } from "./step-down.js";
export { runSubmit } from "./submit.js";
export { runWorker } from "./worker.js";
