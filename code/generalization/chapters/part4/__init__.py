"""Part IV of the book: the kernel regime."""
