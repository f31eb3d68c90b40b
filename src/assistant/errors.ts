import { Code } from "@connectrpc/connect";
import { invalidArgument, rpcError } from "../common/errors.js";

/**
 * Every reason the assistant answers with, declared once (clients branch on them; README lists
 * them). Errors of the engine (CONNECTION_NOT_FOUND, …) pass through unchanged.
 */
export const REASONS = {
  notConfigured: "ASSISTANT_NOT_CONFIGURED",
  providerRejected: "ASSISTANT_PROVIDER_REJECTED",
  modelNotFound: "ASSISTANT_MODEL_NOT_FOUND",
  requestRefused: "ASSISTANT_REQUEST_REFUSED",
  providerRateLimited: "ASSISTANT_PROVIDER_RATE_LIMITED",
  providerUnavailable: "ASSISTANT_PROVIDER_UNAVAILABLE",
  rateLimited: "ASSISTANT_RATE_LIMITED",
  tokenQuota: "ASSISTANT_TOKEN_QUOTA_EXCEEDED",
  conversationNotFound: "CONVERSATION_NOT_FOUND",
  modelNotAllowed: "MODEL_NOT_ALLOWED",
} as const;

export const notConfigured = () =>
  rpcError(Code.FailedPrecondition, REASONS.notConfigured, "no AI assistant is configured on this server (AI_PROVIDER is unset)");
export const providerRejected = (status: number) =>
  rpcError(Code.FailedPrecondition, REASONS.providerRejected, `the AI provider rejected the server's credentials (HTTP ${status}); an operator must fix AI_API_KEY`);
export const modelNotFound = () => rpcError(Code.FailedPrecondition, REASONS.modelNotFound, "the AI provider does not know the configured model");
export const requestRefused = (status: number) =>
  rpcError(Code.FailedPrecondition, REASONS.requestRefused, `the AI provider refused the request (HTTP ${status}); try a shorter request or a smaller schema`);
export const providerRateLimited = (retryAfterMs: number) =>
  rpcError(Code.ResourceExhausted, REASONS.providerRateLimited, "the AI provider's rate limit was reached; retry later", { retryAfterMs });
export const providerUnavailable = (why: string) => rpcError(Code.Unavailable, REASONS.providerUnavailable, `the AI provider is unavailable (${why})`);
export const rateLimited = (limit: number, retryAfterMs: number) =>
  rpcError(Code.ResourceExhausted, REASONS.rateLimited, `at most ${limit} assistant requests per minute`, { retryAfterMs });
export const tokenQuota = (limit: number, retryAfterMs: number) =>
  rpcError(Code.ResourceExhausted, REASONS.tokenQuota, `the daily assistant budget of ${limit} tokens is used up`, { retryAfterMs });
export const conversationNotFound = (field = "id") =>
  rpcError(Code.NotFound, REASONS.conversationNotFound, "conversation not found", { field });
export const modelNotAllowed = () => invalidArgument("model", "is not one of the configured models (GetStatus lists them)", REASONS.modelNotAllowed);
