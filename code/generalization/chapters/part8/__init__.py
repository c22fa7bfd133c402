"""Part VIII of the book: practice."""
