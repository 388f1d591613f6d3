/**
 * Every route of an Express 5 app, as `METHOD /path`: the router stack walked through mounted routers and
 * sub-apps (bull-board's). Middleware that answers by itself (static files, the 404) is not a route.
 */
export function routesOf(app: unknown): string[] {
  type Layer = {
    rawPath?: string | string[];
    route?: { methods: Record<string, boolean> };
    handle?: { stack?: Layer[]; router?: { stack: Layer[] } };
  };
  const out = new Set<string>();
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      const paths = ([] as string[]).concat(layer.rawPath ?? "/").map((p) => (p === "/" ? prefix : prefix + p));
      const inner = layer.handle?.stack ?? layer.handle?.router?.stack;
      for (const path of paths) {
        if (layer.route)
          for (const method of Object.keys(layer.route.methods)) out.add(`${method.toUpperCase()} ${path.replace(/(.)\/$/, "$1")}`);
        else if (inner) walk(inner, path);
      }
    }
  };
  walk((app as { router: { stack: Layer[] } }).router.stack, "");
  return [...out].sort();
}
