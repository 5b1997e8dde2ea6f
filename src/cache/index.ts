// Filled in by the cache module; re-exported from the core entry.
export {};
