import type { ErrorObject } from "ajv";

/** ajv's standalone validator for providers.llamafiles (see generate-validator.ts). */
export declare const validateLlamafilesProvider: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };
