"""Pure domain: entities, names, paths, digests and events. Imports nothing of ours but errors."""
