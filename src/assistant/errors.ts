import { fail, invalidArgument, R } from "../common/errors.js";

/**
 * The errors the assistant answers with (its reasons are in the catalog, common/reasons.ts).
 * Errors of the engine (CONNECTION_NOT_FOUND, …) pass through unchanged.
 */

export const notConfigured = () =>
  fail(R.ASSISTANT_NOT_CONFIGURED, "no AI assistant is configured on this server (AI_PROVIDER is unset)");
export const providerRejected = (status: number) =>
  fail(R.ASSISTANT_PROVIDER_REJECTED, `the AI provider rejected the server's credentials (HTTP ${status}); an operator must fix AI_API_KEY`);
export const modelNotFound = () => fail(R.ASSISTANT_MODEL_NOT_FOUND, "the AI provider does not know the configured model");
export const requestRefused = (status: number) =>
  fail(R.ASSISTANT_REQUEST_REFUSED, `the AI provider refused the request (HTTP ${status}); try a shorter request or a smaller schema`);
export const providerRateLimited = (retryAfterMs: number) =>
  fail(R.ASSISTANT_PROVIDER_RATE_LIMITED, "the AI provider's rate limit was reached; retry later", { retryAfterMs });
export const providerUnavailable = (why: string) => fail(R.ASSISTANT_PROVIDER_UNAVAILABLE, `the AI provider is unavailable (${why})`);
export const rateLimited = (limit: number, retryAfterMs: number) =>
  fail(R.ASSISTANT_RATE_LIMITED, `at most ${limit} assistant requests per minute`, { retryAfterMs });
export const tokenQuota = (limit: number, retryAfterMs: number) =>
  fail(R.ASSISTANT_TOKEN_QUOTA_EXCEEDED, `the daily assistant budget of ${limit} tokens is used up`, { retryAfterMs });
export const conversationNotFound = (field = "id") =>
  fail(R.CONVERSATION_NOT_FOUND, "conversation not found", { field });
export const modelNotAllowed = () => invalidArgument("model", "is not one of the configured models (GetStatus lists them)", R.MODEL_NOT_ALLOWED);
