/** Moved beside the library's specs, which stand on their own; root tests import it from here. */
export * from '../../libs/nestjs-zeromq/test/nest-apps.js';
