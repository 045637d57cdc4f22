"""The notice watcher: fetch official notice lists politely, parse them, judge relevance."""
