/**
 * The one place where the two ends of the supported pi range differ in a type this package uses.
 *
 * pi 0.87 has one `ProviderModelConfig` (a chat model). pi 1.x made it a union of chat, image and
 * classifier models, and only the chat variant has `maxTokens`. Every model this package registers
 * is a chat model: picking the variant that has `maxTokens` gives the chat model on both ends.
 */
import type { ProviderModelConfig } from "@earendil-works/pi-coding-agent";

export type ChatModelConfig = Extract<ProviderModelConfig, { maxTokens: number }>;
