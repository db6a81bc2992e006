"""Where an index and its vectors live, and how they are searched."""
