"""Part I of the book: the puzzle."""
