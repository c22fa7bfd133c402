"""Part VII of the book: sparsity."""
