import { toBinary, type DescFile, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { ServerReflection as ServerReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { file_sqlstudio_common_v1_error } from "../../gen/sqlstudio/common/v1/error_pb.js";

/** gRPC status codes used in reflection error responses. */
const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

/** The index reflection answers from: every file reachable from the served services. */
export class DescriptorIndex {
  private readonly files = new Map<string, DescFile>();
  private readonly symbols = new Map<string, DescFile>();
  private readonly encoded = new Map<string, Uint8Array>();

  constructor(readonly services: readonly DescService[], extraFiles: readonly DescFile[] = []) {
    for (const s of services) this.addFile(s.file);
    for (const f of extraFiles) this.addFile(f);
  }

  private addFile(file: DescFile): void {
    if (this.files.has(file.name + ".proto")) return;
    this.files.set(file.name + ".proto", file);
    this.encoded.set(file.name + ".proto", toBinary(FileDescriptorProtoSchema, file.proto));
    const addMessage = (m: DescMessage) => {
      this.symbols.set(m.typeName, file);
      m.nestedMessages.forEach(addMessage);
      m.nestedEnums.forEach((e) => this.symbols.set(e.typeName, file));
      m.nestedExtensions.forEach((x) => this.symbols.set(x.typeName, file));
    };
    file.messages.forEach(addMessage);
    file.enums.forEach((e) => this.symbols.set(e.typeName, file));
    file.extensions.forEach((x) => this.symbols.set(x.typeName, file));
    for (const s of file.services) {
      this.symbols.set(s.typeName, file);
      for (const m of s.methods) this.symbols.set(`${s.typeName}.${m.name}`, file);
    }
    file.dependencies.forEach((d) => this.addFile(d));
  }

  /** The file and everything it imports, transitively, the file itself first. */
  fileWithDeps(file: DescFile): Uint8Array[] {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      const name = f.name + ".proto";
      if (seen.has(name)) return;
      seen.add(name);
      out.push(this.encoded.get(name)!);
      f.dependencies.forEach(visit);
    };
    visit(file);
    return out;
  }

  byFilename(name: string): DescFile | undefined {
    return this.files.get(name);
  }

  bySymbol(symbol: string): DescFile | undefined {
    return this.symbols.get(symbol.replace(/^\./, ""));
  }
}

type Request = {
  host: string;
  messageRequest:
    | { case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices"; value: string }
    | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
    | { case: undefined; value?: undefined };
};

/** One answer per request; the shape is the same in v1 and v1alpha. */
function answer(index: DescriptorIndex, serviceNames: string[], req: Request) {
  const error = (code: number, message: string) => ({ case: "errorResponse" as const, value: { errorCode: code, errorMessage: message } });
  const files = (file: DescFile | undefined, what: string) =>
    file
      ? { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: index.fileWithDeps(file) } }
      : error(NOT_FOUND, `${what} not found`);
  const r = req.messageRequest;
  let messageResponse;
  switch (r.case) {
    case "listServices":
      messageResponse = { case: "listServicesResponse" as const, value: { service: serviceNames.map((name) => ({ name })) } };
      break;
    case "fileByFilename":
      messageResponse = files(index.byFilename(r.value), `file ${r.value}`);
      break;
    case "fileContainingSymbol":
      messageResponse = files(index.bySymbol(r.value), `symbol ${r.value}`);
      break;
    case "fileContainingExtension":
      messageResponse = error(NOT_FOUND, `extension ${r.value.extensionNumber} of ${r.value.containingType} not found`);
      break;
    case "allExtensionNumbersOfType":
      messageResponse = index.bySymbol(r.value)
        ? { case: "allExtensionNumbersResponse" as const, value: { baseTypeName: r.value, extensionNumber: [] } }
        : error(NOT_FOUND, `type ${r.value} not found`);
      break;
    default:
      messageResponse = error(UNIMPLEMENTED, "empty reflection request");
  }
  return { validHost: req.host, originalRequest: req, messageResponse };
}

/**
 * grpc.reflection.v1 and v1alpha over the services this server serves (bidi streams, so
 * HTTP/2 for gRPC and Connect; tools such as buf curl and grpcurl use them).
 */
export function reflectionServices(served: readonly DescService[]) {
  const all = [...served, ServerReflectionV1, ServerReflectionV1alpha];
  // Error details (sqlstudio.common.v1.ErrorInfo) travel in every error: tools resolve them by reflection.
  const index = new DescriptorIndex(all, [file_sqlstudio_common_v1_error]);
  const names = all.map((s) => s.typeName).sort();
  const impl = {
    async *serverReflectionInfo(requests: AsyncIterable<Request>) {
      for await (const req of requests) yield answer(index, names, req);
    },
  };
  return [
    [ServerReflectionV1, impl as unknown as ServiceImpl<typeof ServerReflectionV1>],
    [ServerReflectionV1alpha, impl as unknown as ServiceImpl<typeof ServerReflectionV1alpha>],
  ] as const;
}
