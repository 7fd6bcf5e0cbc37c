import * as grpc from "@grpc/grpc-js";

type UnaryMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response: unknown) => void,
) => void;

/**
 * One unary call, by method name, on a client that @grpc/proto-loader built
 * (its methods are not typed), with a deadline `timeoutMs` from now. Rejects
 * with the grpc ServiceError, or an Error when the method does not exist.
 */
export function callUnary<Res>(
  client: grpc.Client,
  method: string,
  request: unknown,
  timeoutMs: number,
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<Res> {
  const fn = (client as unknown as Record<string, UnaryMethod | undefined>)[method];
  if (typeof fn !== "function") return Promise.reject(new Error(`no method ${method} on this client`));
  return new Promise<Res>((resolve, reject) => {
    fn.call(client, request, metadata, { deadline: new Date(Date.now() + timeoutMs) }, (e, r) =>
      e === null ? resolve(r as Res) : reject(e),
    );
  });
}
