/**
 * `/openapi.json`, built from the routes' definitions by `@hono/zod-openapi`'s generator
 * (`@asteasolutions/zod-to-openapi`, which reads the schemas' `.meta()`). Imported on the first
 * request for the document only: the generator costs start-up time every other request does not
 * need.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Definition } from "./api_router.ts";

/** What the document says besides its paths and components. */
export type DocumentHead = Parameters<OpenAPIHono["getOpenAPI31Document"]>[0];

/** The OpenAPI 3.1 document of `definitions`. */
export function openApiDocument(
  definitions: readonly Definition[],
  head: DocumentHead,
): ReturnType<OpenAPIHono["getOpenAPI31Document"]> {
  const generator = new OpenAPIHono();
  const registry = generator.openAPIRegistry;
  for (const definition of definitions) {
    if (definition.type === "route") {
      registry.registerPath(
        definition.route as unknown as Parameters<typeof registry.registerPath>[0],
      );
    } else {
      registry.registerComponent(
        definition.componentType as Parameters<typeof registry.registerComponent>[0],
        definition.name,
        definition.component as Parameters<typeof registry.registerComponent>[2],
      );
    }
  }
  return generator.getOpenAPI31Document(head);
}
