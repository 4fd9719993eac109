/**
 * What the bench asks of the real server over HTTP before it measures: tokens and a user.
 *
 * @module
 */

/** The access and refresh tokens of a login (the bootstrap admin's unless `userId` is given). */
export async function login(
  url: string,
  password: string,
  userId = "admin",
): Promise<{ token: string; refresh: string }> {
  const response = await fetch(`${url}/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user_id: userId, password }),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`/login answered ${response.status}: ${text}`);
  const body = JSON.parse(text) as { token: string; refresh_token: string };
  return { token: body.token, refresh: body.refresh_token };
}

/**
 * The user the one-account `/login` row signs in as (not `admin`, whose sessions the other
 * phases use): it holds `MAX_SESSIONS_PER_USER` sessions before the row starts, so each of the
 * row's logins ends its oldest session.
 */
export const LOGIN_USER = "bench-login";

/**
 * The many-accounts `/login` row: the 32 connections rotate over this many accounts, created
 * before the run, so that none reaches `MAX_SESSIONS_PER_USER` within it (checked: see
 * `http_rounds.ts`): every login there is a login below the cap.
 */
export const LOGIN_ACCOUNTS = 64;
/** Account `i` of the many-accounts row is `${LOGIN_ACCOUNT_PREFIX}${i}`. */
export const LOGIN_ACCOUNT_PREFIX = "bench-login-";
/** `MAX_SESSIONS_PER_USER` of the bench's servers (its default, set in their environment). */
export const SESSION_CAP = 100;

/** Adds a user with role `user` through the admin API. */
export async function addUser(url: string, adminToken: string, userId: string, password: string) {
  const response = await fetch(`${url}/admin/users`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Authorization": `Bearer ${adminToken}` },
    body: JSON.stringify({ user_id: userId, password, roles: ["user"] }),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`/admin/users answered ${response.status}: ${text}`);
}

/** `count` fresh refresh tokens of the admin (the first tokens of `/refresh`'s chains). */
export async function logins(url: string, password: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) tokens.push((await login(url, password)).refresh);
  return tokens;
}
