// Filled in by the observe module; re-exported from the core entry.
export {};
