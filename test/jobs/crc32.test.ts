import { describe, expect, it } from "vitest";
import { crc32 } from "../../src/jobs/crc32.js";

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("crc32", () => {
  it("matches the IEEE check value and the empty input", () => {
    expect(crc32(ascii("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it("continues across pieces as over the joined bytes", () => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31 + 7) & 0xff);
    const whole = crc32(bytes);
    for (const cut of [0, 1, 3, 500, 999, 1000]) {
      expect(crc32(bytes.subarray(cut), crc32(bytes.subarray(0, cut)))).toBe(whole);
    }
  });

  it("reads a view, not the whole buffer behind it", () => {
    const buffer = ascii("xx123456789yy");
    expect(crc32(buffer.subarray(2, 11))).toBe(0xcbf43926);
  });
});
