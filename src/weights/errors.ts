// The one error type of the weights layer. Every problem with a weights file (format, safety, truncation,
// architecture mismatch) surfaces as a WeightsError whose message starts with the file's name.
export class WeightsError extends Error {
  override name = 'WeightsError';
}

/** Shortens a (possibly hostile, possibly huge) name for an error message. */
export function clip(s: string, max = 200): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is escaped here
  const printable = s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return printable.length <= max ? printable : `${printable.slice(0, max)}… (${s.length} chars)`;
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
