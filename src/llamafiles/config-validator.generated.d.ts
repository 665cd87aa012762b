import type { ErrorObject } from "ajv";

/** ajv's standalone validator for providers.llamafiles (see tools/generate-validators.ts). */
export declare const validateLlamafilesProvider: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };
