import { ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { fail, R } from "../common/errors.js";
import type { HealthState } from "./state.js";

/** grpc.health.v1.Health: Check and Watch over every protocol. */
export function healthService(state: HealthState): ServiceImpl<typeof Health> {
  return {
    check(req) {
      const status = state.get(req.service);
      if (status === undefined) throw fail(R.UNKNOWN_SERVICE, `service "${req.service}" not found`);
      return { status };
    },
    async *watch(req, ctx) {
      for await (const status of state.watch(req.service, ctx.signal)) yield { status };
      // The watch stops quietly on abort; the stream must still end with why (DeadlineExceeded, Unavailable, …).
      if (ctx.signal.aborted) throw ConnectError.from(ctx.signal.reason);
      if (state.isShutDown) throw fail(R.SHUTTING_DOWN, "server shutting down");
    },
  };
}
