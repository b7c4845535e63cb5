"""Guards against Opus-MT's known failure modes: flags per sentence, protected spans, glossary."""
