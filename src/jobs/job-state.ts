/**
 * Job states and the transitions between them.
 *
 * ```
 *   SubmitJob --------------------------------> PENDING <-------------------------+
 *      |  run-at in the future                   ^    |                           |
 *      v                                         |    | AssignJobs (attempt n)    | RetryJob
 *   SCHEDULED --- run-at reached (promotion) ----+    v                           | (attempts reset)
 *      ^                                             RUNNING --- completed ---> COMPLETED
 *      |                                              |   |
 *      +-- failed (retryable), lease expired or ------+   +-- failed, non-retryable or
 *          worker lost, attempts left: backoff                attempts exhausted ---> FAILED
 *                                                                              (dead letter)
 *   PENDING | SCHEDULED | RUNNING --- CancelJob ---> CANCELLED
 * ```
 *
 * COMPLETED, FAILED and CANCELLED are finished: they stay until ExpireFinished
 * drops them after the retention window. Only RetryJob leaves FAILED.
 * A zero backoff sends a requeued job straight back to PENDING.
 */
export const JobState = {
  Pending: 0,
  Scheduled: 1,
  Running: 2,
  Completed: 3,
  Failed: 4,
  Cancelled: 5,
} as const;
export type JobState = (typeof JobState)[keyof typeof JobState];

export const JOB_STATE_COUNT = 6;

export const JOB_STATE_NAMES = [
  "pending",
  "scheduled",
  "running",
  "completed",
  "failed",
  "cancelled",
] as const;
export type JobStateName = (typeof JOB_STATE_NAMES)[number];

export function jobStateName(state: JobState): JobStateName {
  return JOB_STATE_NAMES[state]!;
}

export function parseJobStateName(name: string): JobState | undefined {
  const index = (JOB_STATE_NAMES as readonly string[]).indexOf(name);
  return index < 0 ? undefined : (index as JobState);
}

export function isFinished(state: JobState): boolean {
  return state >= JobState.Completed;
}
