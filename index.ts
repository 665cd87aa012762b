/**
 * What pi loads (package.json "pi.extensions"): the extension, whose source starts at
 * src/index.ts. pi gets it as one generated module, because pi loads every module through jiti
 * at a fixed cost each: tools/generate-start-module.ts says why and measures it.
 */
export { default } from "./generated/start-module.ts";
