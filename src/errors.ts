/**
 * The base of every error the project raises on purpose. The CLI prints `message` alone (no stack) for these, so a
 * message must say what went wrong and where: the file, the column, the row and the value where they apply.
 */
export class MmctrError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
