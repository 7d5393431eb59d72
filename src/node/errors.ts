// The error a user sees: the CLI prints its message (no stack) and exits with its code.
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The `code` of a Node system error (ENOENT, EACCES, ...), if any. */
export function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

const WHY: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a path component is not a directory',
  EISDIR: 'is a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EEXIST: 'already exists',
  EXDEV: 'crosses file systems',
};

/** "no such file or directory (ENOENT)" for a system error, else the message. */
export function why(e: unknown): string {
  const c = errno(e);
  if (c && WHY[c]) return `${WHY[c]} (${c})`;
  return e instanceof Error ? e.message : String(e);
}
