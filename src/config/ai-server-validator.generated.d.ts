import type { ErrorObject } from "ajv";

/** ajv's standalone validator for ~/.pi/agent/ai-server.json (see generate-validator.ts). */
export declare const validateAiServerFile: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };
