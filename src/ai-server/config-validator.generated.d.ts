import type { ErrorObject } from "ajv";

/** ajv's standalone validator for ~/.pi/agent/ai-server.json (see tools/generate-validators.ts). */
export declare const validateAiServerFile: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };
