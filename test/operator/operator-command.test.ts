/** `raftq operator` flags and the API-server discovery, including the out-of-cluster trap. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KubeConfigError, loadKubeConfig } from "../../operator/src/kubeconfig.js";
import { parseOperatorArgs, runOperator } from "../../src/cli/operator-command.js";
import { kubeconfigYaml } from "./stand-in/server.js";

const dir = mkdtempSync(join(tmpdir(), "raftq-opcmd-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("raftq operator flags", () => {
  it("defaults, environment, then flags", () => {
    expect(parseOperatorArgs([], {})).toEqual({
      namespace: "",
      leaderElect: true,
      leaseNamespace: undefined,
      healthPort: 8081,
      metricsPort: 8080,
      kubeconfig: undefined,
      logLevel: "info",
    });
    const env = {
      RAFTQ_OPERATOR_NAMESPACE: "queues",
      RAFTQ_LEADER_ELECT: "false",
      RAFTQ_HEALTH_PORT: "9000",
    };
    expect(parseOperatorArgs([], env)).toMatchObject({
      namespace: "queues",
      leaderElect: false,
      healthPort: 9000,
    });
    expect(parseOperatorArgs(["--namespace", "other", "--leader-elect", "true"], env)).toMatchObject({
      namespace: "other",
      leaderElect: true,
    });
  });

  it("rejects bad values and unknown flags", async () => {
    expect(() => parseOperatorArgs(["--health-port", "http"], {})).toThrow(/port number/);
    expect(() => parseOperatorArgs(["--leader-elect", "maybe"], {})).toThrow(/true or false/);
    expect(() => parseOperatorArgs(["--nope"], {})).toThrow();
    expect(await runOperator(["--bogus"])).toBe(2);
  });
});

describe("finding the API server", () => {
  it("uses --kubeconfig and its namespace", () => {
    const path = join(dir, "kc");
    writeFileSync(path, kubeconfigYaml("http://127.0.0.1:1", "queues"));
    const s = loadKubeConfig(path, {});
    expect(s.kubeConfig.getCurrentCluster()?.server).toBe("http://127.0.0.1:1");
    expect(s.ownNamespace).toBe("queues");
  });

  it("fails clearly outside a pod with no kubeconfig", () => {
    expect(() => loadKubeConfig(undefined, { HOME: dir, KUBECONFIG: join(dir, "missing") })).toThrow(
      /not in a pod .* does not exist/,
    );
  });

  it("in-cluster without a usable server is an error, not https://undefined:undefined", () => {
    // Our env says "in a pod" but client-node reads process.env, where the host is unset: the
    // in-cluster config then names https://undefined:undefined, which must be refused.
    const env = { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" };
    expect(process.env["KUBERNETES_SERVICE_HOST"]).toBeUndefined();
    expect(() => loadKubeConfig(undefined, env, join(dir, "no-sa"))).toThrow(KubeConfigError);
    expect(() => loadKubeConfig(undefined, env, join(dir, "no-sa"))).toThrow(/undefined/);
    const kc = join(dir, "bad");
    writeFileSync(kc, kubeconfigYaml("https://undefined:undefined"));
    expect(() => loadKubeConfig(kc, {})).toThrow(/no usable API server/);
  });

  it("runOperator exits 1 with a message when there is no API server", async () => {
    expect(await runOperator(["--kubeconfig", join(dir, "missing")])).toBe(1);
  });
});
