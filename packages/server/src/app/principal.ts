/**
 * Who is calling, once the `Authorization` header has been accepted: an API
 * token (CENTRAL_API.md §1.1) or a user signed in to the web UI with a session
 * token. Either way `roles` decides what the caller may do (roles.ts).
 */
export type ApiPrincipal =
  | { kind: 'apiToken'; tokenId: string; roles: string[] }
  | { kind: 'user'; userId: string; username: string; sessionId: string; roles: string[] };

/** How error messages name the caller: `API token 'ci'` or `user 'alice@example.com'`. */
export function describePrincipal(principal: ApiPrincipal): string {
  return principal.kind === 'apiToken' ? `API token '${principal.tokenId}'` : `user '${principal.username}'`;
}
