/** A private server could not be had; the message is the one line to print, and the run exits 1. */
export class DevServiceError extends Error {
  constructor(message) {
    super(message);
    this.name = 'DevServiceError';
  }
}
