import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, MODULE_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DOMAIN_MODULES } from '../../src/app.module';
import { ACCESS_POLICY, AccessPolicy } from '../../src/auth/access.decorators';
import { ConsoleModule } from '../../src/console/console.module';

export interface DeclaredRoute {
  method: string;
  /** With Nest's `:param` placeholders. */
  path: string;
  /** Who may call it, as the access guard reads it (the handler's policy, else its controller's). */
  policy?: AccessPolicy;
}

type Controller = { prototype: Record<string, unknown> };

/**
 * The routes the controllers declare, read from their own decorators (and those of the modules they import), so
 * that a route added later is checked without anyone listing it in a test.
 */
export function declaredRoutes(modules: unknown[] = DOMAIN_MODULES): DeclaredRoute[] {
  const controllers = new Set<Controller>();
  const seen = new Set<unknown>();
  const visit = (module: unknown) => {
    if (!module || seen.has(module)) return;
    seen.add(module);
    for (const controller of (Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, module as object) ?? []) as Controller[]) controllers.add(controller);
    for (const imported of (Reflect.getMetadata(MODULE_METADATA.IMPORTS, module as object) ?? []) as unknown[]) visit(imported);
  };
  modules.forEach(visit);
  const routes: DeclaredRoute[] = [];
  for (const controller of controllers) {
    const bases = [Reflect.getMetadata(PATH_METADATA, controller) as string | string[]].flat();
    for (const name of Object.getOwnPropertyNames(controller.prototype)) {
      const handler = controller.prototype[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (method === undefined) continue;
      const policy = (Reflect.getMetadata(ACCESS_POLICY, handler) ?? Reflect.getMetadata(ACCESS_POLICY, controller)) as AccessPolicy | undefined;
      for (const base of bases) {
        for (const path of [Reflect.getMetadata(PATH_METADATA, handler) as string | string[]].flat()) {
          routes.push({ method: RequestMethod[method], path: `/${base}/${path}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1'), policy });
        }
      }
    }
  }
  return routes;
}

/** Every route of the console that is not a GET: each form that changes something. */
export function consoleMutations(): DeclaredRoute[] {
  return declaredRoutes([ConsoleModule])
    .filter((route) => route.path.startsWith('/console/') && route.method !== 'GET' && route.method !== 'HEAD');
}
