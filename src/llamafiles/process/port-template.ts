/** Every literal `{{port}}` in an argument becomes the model's port; nothing else is substituted. */
export function resolveArgs(args: readonly string[], port: number): string[] {
  return args.map((arg) => arg.split("{{port}}").join(String(port)));
}
