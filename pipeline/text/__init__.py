"""Text helpers: finding, decoding and reading article files, ids, sentence splitting."""
