// A one-time message for the next page (e.g. "Saved" after the form navigates away).
let pending: string | null = null;

export function setFlash(message: string) {
  pending = message;
}

/** The pending message, once. */
export function takeFlash(): string | null {
  const m = pending;
  pending = null;
  return m;
}
