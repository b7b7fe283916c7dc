import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, MODULE_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ConsoleModule } from '../../src/console/console.module';

/**
 * Every route of the console's controllers that is not a GET — each form that changes something —, read from the
 * controllers' own decorators, so that a form added later is checked without anyone listing it here.
 */
export function consoleMutations(): { method: string; path: string }[] {
  const controllers: { prototype: Record<string, unknown> }[] = Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, ConsoleModule);
  const routes: { method: string; path: string }[] = [];
  for (const controller of controllers) {
    const bases = [Reflect.getMetadata(PATH_METADATA, controller) as string | string[]].flat();
    for (const name of Object.getOwnPropertyNames(controller.prototype)) {
      const handler = controller.prototype[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (method === undefined || method === RequestMethod.GET || method === RequestMethod.HEAD) continue;
      for (const base of bases) {
        for (const path of [Reflect.getMetadata(PATH_METADATA, handler) as string | string[]].flat()) {
          routes.push({ method: RequestMethod[method], path: `/${base}/${path}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1') });
        }
      }
    }
  }
  return routes;
}
