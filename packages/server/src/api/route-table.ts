/**
 * Which path patterns exist for which methods, so an unknown route can be told
 * apart from a known path with the wrong method (404 vs 405 + `Allow`).
 * Fastify's router answers 404 for both.
 */
export class RouteTable {
  private readonly routes: Array<{ re: RegExp; methods: Set<string> }> = [];

  add(url: string, methods: string | string[]): void {
    const re = new RegExp(
      '^' +
        url
          .split('/')
          .map((s) => (s.startsWith(':') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
          .join('/') +
        '/?$',
    );
    const entry = this.routes.find((r) => r.re.source === re.source);
    const list = Array.isArray(methods) ? methods : [methods];
    if (entry) for (const m of list) entry.methods.add(m);
    else this.routes.push({ re, methods: new Set(list) });
  }

  /** Methods allowed on `path` (without the query), empty when no route matches it. */
  allowed(path: string): string[] {
    const out = new Set<string>();
    for (const r of this.routes) if (r.re.test(path)) for (const m of r.methods) out.add(m);
    return [...out].sort();
  }
}
