"""Audio helpers: MP3 frames, encoding with LAME, joining segments, ID3 tags."""
