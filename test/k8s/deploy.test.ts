/**
 * deploy/ holds plain manifests generated from the chart: they must be
 * current (CI fails when the chart changed and they were not regenerated)
 * and valid for their kinds.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../scripts/helm-tool.js";
import { NAMESPACE, staleFiles } from "../../scripts/render-deploy.js";
import { objName, parseManifests, validateBuiltin, type KubeObj } from "./kube-validate.js";

const deployDir = join(repoRoot, "deploy");
const topLevel = readdirSync(deployDir)
  .filter((f) => f.endsWith(".yaml"))
  .sort();
const load = (rel: string): KubeObj[] => parseManifests(readFileSync(join(deployDir, rel), "utf8"));

describe("deploy/", () => {
  it("is up to date with the chart (run `npx tsx scripts/render-deploy.ts` if not)", async () => {
    expect(await staleFiles()).toEqual([]);
  });

  it("`kubectl apply -f deploy/` creates the namespace first, then the CRD, then the operator", () => {
    const kinds = topLevel.flatMap((f) => load(f).map((o) => o.kind));
    expect(kinds[0]).toBe("Namespace");
    expect(kinds[1]).toBe("CustomResourceDefinition");
    expect(kinds).toContain("Deployment");
    expect(kinds).not.toContain("JobQueue");
  });

  it("every manifest in deploy/ is valid for its kind and namespaced in the operator's namespace", async () => {
    const problems: string[] = [];
    for (const f of topLevel) {
      for (const o of load(f)) {
        const r = await validateBuiltin(o);
        problems.push(...[...r.errors, ...r.unknownFields].map((e) => `${f} ${objName(o)}: ${e}`));
        if (["ServiceAccount", "Deployment", "Role", "RoleBinding"].includes(o.kind)) {
          expect(o.metadata.namespace, objName(o)).toBe(NAMESPACE);
        }
        expect(o.metadata.labels?.["helm.sh/chart"], objName(o)).toBeUndefined();
      }
    }
    expect(problems).toEqual([]);
  });

  it("monitoring/ and examples/ stay out of the default apply (kubectl -f is not recursive)", () => {
    expect(load(join("monitoring", "operator-podmonitor.yaml"))[0]!.kind).toBe("PodMonitor");
    expect(load(join("examples", "jobqueue.yaml"))[0]!.kind).toBe("JobQueue");
  });
});
