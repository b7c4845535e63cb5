"""Machine translation helpers: finding model files, MarianMT inference, batching."""
