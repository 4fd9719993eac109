/**
 * jose's `decodeJwt` for the OAuth routes, imported from "jose" in this one module: Deno resolves
 * each npm import of a module reached only through import() on its own at start-up (about 3 ms
 * each), and the OAuth group is loaded that way (`routes/lazy_routes.ts`).
 *
 * @module
 */
export { decodeJwt } from "jose";
