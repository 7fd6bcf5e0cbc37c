import { describe, expect, it } from "vitest";
import { parseNodeArgs } from "../../src/cli/node-options.js";

const PEERS = "a=10.0.0.1:7700,b=10.0.0.2:7700,c=10.0.0.3:7700";

describe("raftq node flags", () => {
  it("takes defaults, then the environment, then flags", () => {
    const fromEnv = parseNodeArgs([], { RAFTQ_GRPC_PORT: "7711", RAFTQ_ID: "a" });
    expect(fromEnv.grpcPort).toBe(7711);
    expect(fromEnv.id).toBe("a");
    expect(fromEnv.heartbeatIntervalMs).toBe(50);
    const flagWins = parseNodeArgs(["--grpc-port", "7722", "--max-pending-proposals=8"], {
      RAFTQ_GRPC_PORT: "7711",
    });
    expect(flagWins.grpcPort).toBe(7722);
    expect(flagWins.maxPendingProposals).toBe(8);
  });

  it("advertises this node's --peers address, or loopback on its gRPC port without one", () => {
    expect(parseNodeArgs(["--id", "b", "--peers", PEERS], {}).advertiseAddress).toBe("10.0.0.2:7700");
    expect(parseNodeArgs(["--id", "x", "--join", "--grpc-port", "7799"], {}).advertiseAddress).toBe(
      "127.0.0.1:7799",
    );
  });

  it("refuses an advertised address that disagrees with this node's --peers entry", () => {
    expect(() =>
      parseNodeArgs(["--id", "b", "--peers", PEERS, "--advertise-address", "10.9.9.9:7700"], {}),
    ).toThrow(/--advertise-address 10.9.9.9:7700 disagrees with this node's --peers entry b=10.0.0.2:7700/);
    // The same address is fine; a node outside --peers (join mode) may advertise anything.
    expect(
      parseNodeArgs(["--id", "b", "--peers", PEERS, "--advertise-address", "10.0.0.2:7700"], {})
        .advertiseAddress,
    ).toBe("10.0.0.2:7700");
    expect(
      parseNodeArgs(["--id", "d", "--join", "--advertise-address", "raftq-3.raftq-peers:7700"], {})
        .advertiseAddress,
    ).toBe("raftq-3.raftq-peers:7700");
  });

  it("names an unknown flag and a missing value", () => {
    expect(() => parseNodeArgs(["--grpc-prot", "1"], {})).toThrow(/unknown flag --grpc-prot/);
    expect(() => parseNodeArgs(["--grpc-port"], {})).toThrow(/--grpc-port needs a value/);
  });
});
