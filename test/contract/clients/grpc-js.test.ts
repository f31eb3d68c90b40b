/**
 * @grpc/grpc-js, the reference gRPC implementation for Node, over h2c: a generic client built
 * with makeGenericClientConstructor and serializers from the generated schemas (no proto-loader),
 * so any RPC in the contract can be called the way a grpc-js user would.
 */
import { fromBinary, fromJson, toBinary, toJson, type DescMethod, type DescMethodBiDiStreaming } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerReflection as ReflectionV1 } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import {
  decodeGrpcStatus,
  expectOutcome,
  expectReflectionAnswers,
  expectRpcLogged,
  reflectionResponseFromBinary,
  REFLECTION_REQUESTS,
  STREAM_CASES,
  UNARY_CASES,
  type Outcome,
} from "../../support/clients/expect.js";
import { SERVICES } from "../../support/clients/services.js";
import { startTestServer, type TestServer } from "../../support/server.js";

let server: TestServer;
let client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** One generic client for every method of every contract service, keyed "<Service>.<Method>". */
function makeClient(target: string) {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const s of SERVICES) {
    for (const m of s.methods as DescMethod[]) {
      definition[`${s.typeName}.${m.name}`] = {
        path: `/${s.typeName}/${m.name}`,
        requestStream: m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming",
        responseStream: m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming",
        requestSerialize: (v: unknown) => Buffer.from(toBinary(m.input, v as never)),
        requestDeserialize: (b: Buffer) => fromBinary(m.input, b),
        responseSerialize: (v: unknown) => Buffer.from(toBinary(m.output, v as never)),
        responseDeserialize: (b: Buffer) => fromBinary(m.output, b),
      };
    }
  }
  const Ctor = grpc.makeGenericClientConstructor(definition, "ContractClient");
  return new Ctor(target, grpc.credentials.createInsecure(), { "grpc.enable_http_proxy": 0 }) as unknown as typeof client;
}

const key = (m: DescMethod) => `${m.parent.typeName}.${m.name}`;
const deadline = () => new Date(Date.now() + 5000);

beforeAll(async () => {
  server = await startTestServer();
  client = makeClient(`127.0.0.1:${server.ports.api}`);
});
afterAll(async () => {
  client?.close();
  await server?.stop();
});

describe("grpc-js unary", () => {
  for (const c of UNARY_CASES) {
    it(c.name, async () => {
      const since = server.logs.length;
      const outcome = await new Promise<Outcome>((resolve) => {
        client[key(c.method)](fromJson(c.method.input, c.request), new grpc.Metadata(), { deadline: deadline() }, (err: grpc.ServiceError | null, res: unknown) => {
          if (!err) return resolve({ ok: true, response: toJson(c.method.output, res as never) });
          const bin = err.metadata.get("grpc-status-details-bin")[0] as Buffer | undefined;
          const status = bin ? decodeGrpcStatus(new Uint8Array(bin)) : undefined;
          if (status) expect(status.code).toBe(err.code);
          resolve({ ok: false, code: err.code as number, message: err.details, details: status?.details ?? [] });
        });
      });
      expectOutcome(c, outcome);
      await expectRpcLogged(server.logs, since, { method: c.method.name, protocol: "grpc" });
    });
  }
});

describe("grpc-js server stream", () => {
  for (const c of STREAM_CASES) {
    it(`${c.name}; call.cancel() cancels it on the server`, async () => {
      const since = server.logs.length;
      const call = client[key(c.method)](fromJson(c.method.input, c.request), new grpc.Metadata(), {}) as grpc.ClientReadableStream<unknown>;
      const first = await new Promise((resolve, reject) => {
        call.once("data", resolve);
        call.once("error", reject);
      });
      expect(toJson(c.method.output, first as never)).toEqual(c.first);
      const ended = new Promise<grpc.ServiceError>((resolve) => call.on("error", resolve));
      call.cancel();
      expect((await ended).code).toBe(grpc.status.CANCELLED);
      await expectRpcLogged(server.logs, since, { method: c.method.name, protocol: "grpc", code: "canceled" });
    });
  }
});

describe("grpc-js reflection (bidi stream)", () => {
  for (const service of [ReflectionV1, ReflectionV1alpha]) {
    it(`${service.typeName}: list services, file_containing_symbol with imports`, async () => {
      const method = service.method.serverReflectionInfo as DescMethodBiDiStreaming;
      const call = client[key(method)](new grpc.Metadata(), { deadline: deadline() }) as grpc.ClientDuplexStream<unknown, unknown>;
      const answers: ReturnType<typeof reflectionResponseFromBinary>[] = [];
      const done = new Promise<void>((resolve, reject) => {
        call.on("data", (m) => answers.push(reflectionResponseFromBinary(toBinary(method.output, m as never))));
        call.on("error", reject);
        call.on("end", resolve);
      });
      for (const r of REFLECTION_REQUESTS) call.write(fromJson(method.input, r));
      call.end();
      await done;
      expectReflectionAnswers(answers);
    });
  }
});
