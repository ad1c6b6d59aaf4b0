/** Keyset pagination: a cursor is the (created_at, id) of the last item seen, opaque to clients. */

export interface CursorKey {
  createdAt: string;
  id: string;
}

export function encodeCursor(key: CursorKey): string {
  return btoa(JSON.stringify([key.createdAt, key.id])).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** undefined for a malformed cursor. */
export function decodeCursor(text: string): CursorKey | undefined {
  try {
    const [createdAt, id] = JSON.parse(atob(text.replace(/-/g, "+").replace(/_/g, "/")));
    if (typeof createdAt === "string" && typeof id === "string") return { createdAt, id };
  } catch {
    // fall through
  }
  return undefined;
}
