/**
 * Where the operator finds the API server: --kubeconfig, else in-cluster
 * (service account), else KUBECONFIG / ~/.kube/config. client-node's
 * loadFromCluster() does not fail outside a pod: it yields a server of
 * https://undefined:undefined, so that is checked here and reported plainly.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export class KubeConfigError extends Error {}

export interface KubeConfigSource {
  kubeConfig: KubeConfig;
  source: string;
  /** The namespace the operator runs in (for its Lease), when known. */
  ownNamespace: string | null;
}

export function loadKubeConfig(
  explicitPath: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  serviceAccountDir = SERVICE_ACCOUNT_DIR,
): KubeConfigSource {
  const kc = new KubeConfig();
  if (explicitPath) {
    if (!existsSync(explicitPath)) throw new KubeConfigError(`--kubeconfig ${explicitPath}: no such file`);
    kc.loadFromFile(explicitPath);
    return checked(
      kc,
      `kubeconfig ${explicitPath}`,
      kc.getContextObject(kc.getCurrentContext())?.namespace ?? null,
    );
  }
  if (env["KUBERNETES_SERVICE_HOST"] && env["KUBERNETES_SERVICE_PORT"]) {
    kc.loadFromCluster();
    const nsFile = join(serviceAccountDir, "namespace");
    const ns = existsSync(nsFile) ? readFileSync(nsFile, "utf8").trim() : null;
    return checked(kc, "in-cluster service account", ns);
  }
  const path = env["KUBECONFIG"]?.split(":")[0] || join(homedir(), ".kube", "config");
  if (!existsSync(path)) {
    throw new KubeConfigError(
      "no Kubernetes API to talk to: not in a pod (KUBERNETES_SERVICE_HOST is unset), no --kubeconfig, " +
        `and ${path} does not exist`,
    );
  }
  kc.loadFromFile(path);
  return checked(kc, `kubeconfig ${path}`, kc.getContextObject(kc.getCurrentContext())?.namespace ?? null);
}

function checked(kc: KubeConfig, source: string, ownNamespace: string | null): KubeConfigSource {
  const server = kc.getCurrentCluster()?.server ?? "";
  if (server === "" || server.includes("undefined")) {
    throw new KubeConfigError(`${source} names no usable API server (server: ${JSON.stringify(server)})`);
  }
  try {
    new URL(server);
  } catch {
    throw new KubeConfigError(`${source}: API server ${JSON.stringify(server)} is not a URL`);
  }
  return { kubeConfig: kc, source, ownNamespace };
}
