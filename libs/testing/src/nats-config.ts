/** The configuration file of the options the command line cannot set. */
export function natsConfig(maxPayload: number): string {
  return `max_payload: ${maxPayload}\n`;
}
