"""WeChat Official Account channel: the server callback, passive text replies."""
