"""Files exchanged with other tools: TMX translation memories."""
