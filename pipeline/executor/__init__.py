"""Executors run the stages; the local one in this process."""
