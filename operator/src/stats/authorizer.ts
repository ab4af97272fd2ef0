// Who may read the stats of a namespace: the seam between the stats API's handler (stats-handler.ts) and Kubernetes
// (kube-authorizer.ts: TokenReview, then SubjectAccessReview for `get livestreams` in that namespace).

export type StatsDecision =
  /** the token is valid and RBAC lets its user get livestreams in the namespace */
  | { outcome: 'allowed'; user: string }
  /** no token, or the API server does not accept it (401) */
  | { outcome: 'unauthenticated'; message: string }
  /** a valid user RBAC does not let read the namespace's livestreams (403) */
  | { outcome: 'forbidden'; user: string; message: string }
  /** the API server could not be asked (503: try again) */
  | { outcome: 'unavailable'; message: string };

export interface StatsAuthorizer {
  /** `token` is the bearer token as presented (undefined when the request had none). Never throws. */
  authorize(token: string | undefined, namespace: string): Promise<StatsDecision>;
}
