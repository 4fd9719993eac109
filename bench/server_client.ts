/**
 * What the bench asks of the real server over HTTP before it measures: tokens and a user.
 *
 * @module
 */

/** The bootstrap admin's access and refresh tokens. */
export async function login(
  url: string,
  password: string,
): Promise<{ token: string; refresh: string }> {
  const response = await fetch(`${url}/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user_id: "admin", password }),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`/login answered ${response.status}: ${text}`);
  const body = JSON.parse(text) as { token: string; refresh_token: string };
  return { token: body.token, refresh: body.refresh_token };
}

/** The user the `/login` phase signs in as (not `admin`, whose sessions the other phases use). */
export const LOGIN_USER = "bench-login";

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
