"""The channel-neutral core: text with markup, replies, the router and the conversation."""
