"""Part II of the book: interpolation without fear."""
