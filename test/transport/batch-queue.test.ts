import { expect, it } from "vitest";
import { BatchQueue } from "../../src/transport/batch-queue.js";

const batch = (bytes: number, messages = 1) => ({ payload: new Uint8Array(bytes), messages });

it("is FIFO, bounded by bytes (counting bytes reserved elsewhere), and reports what clear() dropped", () => {
  const q = new BatchQueue(100);
  expect(q.push(batch(40, 2), 0)).toBe(true);
  expect(q.push(batch(40, 3), 0)).toBe(true);
  expect(q.push(batch(30), 0)).toBe(false); // 110 > 100
  expect(q.push(batch(10), 20)).toBe(false); // 40 + 40 + 20 reserved + 10 > 100
  expect(q.queuedBytes).toBe(80);
  expect(q.shift()!.messages).toBe(2);
  expect(q.queuedBytes).toBe(40);
  expect(q.clear()).toBe(3);
  expect(q.queuedBytes).toBe(0);
  expect(q.shift()).toBeUndefined();
});

it("stays FIFO across compactions", () => {
  const q = new BatchQueue(1 << 30);
  let next = 0;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 3000; i++) q.push(batch(1, next++), 0);
    for (let i = 0; i < 2500; i++) q.shift();
  }
  expect(q.length).toBe(2500);
  expect(q.shift()!.messages).toBe(5 * 3000 - 2500);
});
