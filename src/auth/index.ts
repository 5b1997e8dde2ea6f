// Filled in by the auth module; re-exported from the core entry.
export {};
