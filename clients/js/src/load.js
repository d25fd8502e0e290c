/// Optional dependencies (`ws`, `protobufjs`) are imported only when needed.
/// ESM resolution ignores NODE_PATH, so in Node a CommonJS require from here
/// is tried as well (it honours NODE_PATH, as test setups use). The
/// bundler comments keep browser bundlers from resolving Node-only imports.

/**
 * Imports the package `name`, or throws an Error that says how to provide it.
 * @param {string} name
 */
export async function loadModule(name) {
  try {
    return await import(/* webpackIgnore: true */ /* @vite-ignore */ name);
  } catch (first) {
    const isNode = typeof process !== 'undefined' && process.versions && process.versions.node;
    if (isNode) {
      try {
        const { createRequire } = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:module');
        return createRequire(import.meta.url)(name);
      } catch (_) { /* fall through to the first error */ }
    }
    throw new Error(`@courier/client needs the '${name}' package here (npm install ${name}, or pass it in the options): ${first.message}`);
  }
}
