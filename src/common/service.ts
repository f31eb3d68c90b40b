import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";

/** A service the server answers, with its handlers: what a feature hands the server. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ServiceEntry = readonly [DescService, Partial<ServiceImpl<any>>];
