/**
 * Groups one StreamAssignments stream's events into AssignmentEvent.batch
 * messages, for a worker that asked for max_events_per_message > 1.
 *
 * Why: every gRPC message costs the node and the worker a fixed amount of CPU
 * (framing, a stream write, a decode and an event on the worker's side) that
 * dwarfs a 128-byte job. The leader assigns up to 1000 jobs per log entry, so
 * the events one applied entry gives one worker go out together: the hub calls
 * flush() after each entry. Nothing waits for more events to arrive, so
 * batching never delays an assignment.
 */
import type { WireSingleEvent } from "../wire/assignment-codec.js";

/** The largest max_events_per_message a worker may ask for. */
export const MAX_EVENTS_PER_MESSAGE = 1000;

/**
 * A message is sent before its events would pass this many bytes (counted by
 * an upper bound: payloads, results, every string, e.g. a retried job's last
 * error), so a batch stays well under a client's 4 MiB receive limit. A single
 * larger job goes alone, as it would unbatched.
 */
export const MAX_BATCH_BYTES = 1 << 20;

/** What an event costs in a message besides its bytes and strings (tags, lengths, numbers): a generous bound. */
const EVENT_OVERHEAD_BYTES = 128;

/** An upper bound of the event's size in a message: strings at 3 UTF-8 bytes per UTF-16 unit. */
function boundBytes(ev: WireSingleEvent): number {
  if ("revoked" in ev) return EVENT_OVERHEAD_BYTES + 3 * (ev.revoked.jobId.length + ev.revoked.reason.length);
  const j = ev.assigned.job;
  const chars =
    j.id.length +
    j.queue.length +
    j.type.length +
    j.idempotencyKey.length +
    j.workerId.length +
    j.lastError.length;
  return EVENT_OVERHEAD_BYTES + j.payload.length + j.result.length + 3 * chars;
}

export class AssignmentBatcher {
  private pending: WireSingleEvent[] = [];
  private pendingBytes = 0;

  /**
   * @param maxEvents events per message (2..MAX_EVENTS_PER_MESSAGE)
   * @param send writes one message: a lone event as itself, several as a batch
   */
  constructor(
    private readonly maxEvents: number,
    private readonly send: (message: WireSingleEvent | { batch: { events: WireSingleEvent[] } }) => void,
  ) {
    if (!(Number.isInteger(maxEvents) && maxEvents >= 2 && maxEvents <= MAX_EVENTS_PER_MESSAGE))
      throw new RangeError(`maxEvents must be 2..${MAX_EVENTS_PER_MESSAGE}, got ${maxEvents}`);
  }

  add(ev: WireSingleEvent): void {
    const bytes = boundBytes(ev);
    if (this.pending.length > 0 && this.pendingBytes + bytes > MAX_BATCH_BYTES) this.flush();
    this.pending.push(ev);
    this.pendingBytes += bytes;
    if (this.pending.length >= this.maxEvents) this.flush();
  }

  /** Sends what is pending (nothing when nothing is). */
  flush(): void {
    const events = this.pending;
    if (events.length === 0) return;
    this.pending = [];
    this.pendingBytes = 0;
    this.send(events.length === 1 ? events[0]! : { batch: { events } });
  }
}
