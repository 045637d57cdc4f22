"""Console channel: the same conversation in a terminal, buttons shown as numbered choices."""
